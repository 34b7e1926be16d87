import Tensors

/// diffusers ResnetBlock2D without a time embedding:
///
///   h = conv1(silu(norm1(x)))
///   h = conv2(silu(norm2(h)))        (dropout is the identity at inference)
///   out = conv_shortcut(x) + h       (conv_shortcut only when channels change)
struct ResnetBlock2D {
    let norm1: GroupNormLayer
    let conv1: Conv2dLayer
    let norm2: GroupNormLayer
    let conv2: Conv2dLayer
    let conv_shortcut: Conv2dLayer?

    init(_ weights: VAEWeights, _ prefix: String) throws {
        norm1 = try GroupNormLayer(weights, prefix + ".norm1")
        conv1 = try Conv2dLayer(weights, prefix + ".conv1")
        norm2 = try GroupNormLayer(weights, prefix + ".norm2")
        conv2 = try Conv2dLayer(weights, prefix + ".conv2")
        conv_shortcut = conv1.inChannels != conv1.outChannels ? try Conv2dLayer(weights, prefix + ".conv_shortcut") : nil
    }

    var outChannels: Int { conv2.outChannels }

    /// ws.x (in, h, w) → ws.x (out, h, w).
    func callAsFunction(height: Int, width: Int, workspace ws: VAEWorkspace) {
        let spatial = height * width
        norm1(ws.x, spatial: spatial, silu: true, into: ws.t1)
        conv1(ws.t1, height: height, width: width, workspace: ws, into: ws.t2)
        norm2(ws.t2, spatial: spatial, silu: true, into: ws.t2)
        conv2(ws.t2, height: height, width: width, workspace: ws, into: ws.t1)
        if let conv_shortcut {
            conv_shortcut(ws.x, height: height, width: width, workspace: ws, into: ws.t2)
            Elementwise.add(ws.t1, ws.t2, count: outChannels * spatial)
        } else {
            Elementwise.add(ws.t1, ws.x, count: outChannels * spatial)
        }
        ws.swapXT1()
    }
}
