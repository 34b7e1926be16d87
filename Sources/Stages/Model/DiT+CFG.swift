import Tensors

extension DiT {
    /// Upstream `forward_with_cfg`: the first half of x is run twice, with
    /// the labels as given (conditional then null), and guided.
    public func forwardWithCFG(x: Tensor, t: [Float], y: [Int], scale: Float, mode: GuidanceMode,
                               workspace: Workspace? = nil) throws -> Tensor {
        let n = x.shape[0]
        guard n % 2 == 0 else {
            throw DiTError("classifier-free guidance needs an even batch ([conditional; unconditional]) but x has \(n) rows")
        }
        let combined = Tensor(shape: x.shape)
        let half = x.count / 2
        combined.data.update(from: x.data, count: half)
        (combined.data + half).update(from: x.data, count: half)
        let out = try forward(x: combined, t: t, y: y, workspace: workspace)
        let plane = config.inputSize * config.inputSize
        Guidance.apply(out.data, half: n / 2, channels: mode.guidedChannels(config), planeSize: plane,
                       rowStride: config.outChannels * plane, scale: scale)
        return out
    }
}
