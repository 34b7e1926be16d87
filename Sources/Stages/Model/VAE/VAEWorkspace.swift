import Tensors

/// Run-state buffers for decoding one image from an h×w latent: three
/// activation buffers each as large as the largest activation (the current
/// value `x` and two temporaries), plus convolution and attention scratch
/// that grows to its largest use during the first image and is then reused.
final class VAEWorkspace {
    let latentHeight: Int
    let latentWidth: Int
    private(set) var x: UnsafeMutablePointer<Float>
    private(set) var t1: UnsafeMutablePointer<Float>
    let t2: UnsafeMutablePointer<Float>
    private let buffers: [Tensor]
    private var scratch = Tensor(shape: [0])
    private var qkv = Tensor(shape: [0])
    private var scores = Tensor(shape: [0])
    /// im2col bands of about 16 MB keep the gemms large and the scratch small.
    static let convBudget = 1 << 22

    init(config c: VAEConfig, latentHeight h: Int, latentWidth w: Int) {
        (latentHeight, latentWidth) = (h, w)
        let blocks = c.blockOutChannels.count
        var largest = max(c.latentChannels, c.blockOutChannels.last!) * h * w
        for i in 0..<blocks {
            let (cin, cout) = c.upBlockChannels(i), s = (h << i) * (w << i)
            largest = max(largest, max(cin, cout) * s, i < blocks - 1 ? 4 * cout * s : 0)
        }
        largest = max(largest, max(c.blockOutChannels[0], c.outChannels) * h * w << (2 * (blocks - 1)))
        buffers = (0..<3).map { _ in Tensor(shape: [largest]) }
        (x, t1, t2) = (buffers[0].data, buffers[1].data, buffers[2].data)
    }

    /// After a layer wrote its output to t1: that output becomes x.
    func swapXT1() { swap(&x, &t1) }

    func convScratch(_ g: Conv2d.Geometry) -> UnsafeMutableBufferPointer<Float> {
        let need = g.scratch(budget: Self.convBudget)
        if scratch.count < need { scratch = Tensor(shape: [need]) }
        return scratch.buffer
    }

    func attentionQKV(_ count: Int) -> UnsafeMutablePointer<Float> {
        if qkv.count < count { qkv = Tensor(shape: [count]) }
        return qkv.data
    }

    func attentionScores(_ count: Int) -> UnsafeMutablePointer<Float> {
        if scores.count < count { scores = Tensor(shape: [count]) }
        return scores.data
    }
}
