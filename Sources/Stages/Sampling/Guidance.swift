import Tensors

/// Which eps channels classifier-free guidance mixes.
public enum GuidanceMode: String, Codable, CaseIterable, Sendable {
    /// Upstream `forward_with_cfg`: `model_out[:, :3]`, i.e. channels 0..2 of
    /// the output, whatever the channel count (for a 1-channel learn_sigma
    /// model that includes the variance channel; upstream does it, so do we).
    case upstream
    /// Every eps channel (the first in_channels channels), the textbook rule.
    case allChannels = "all-channels"

    public func guidedChannels(_ c: DiTConfig) -> Int {
        switch self {
        case .upstream: return min(3, c.outChannels)
        case .allChannels: return c.inChannels
        }
    }
}

/// Classifier-free guidance on a model output whose rows are
/// [conditional; unconditional].
public enum Guidance {
    /// For channels 0..<channels of each image i < half, both rows i and
    /// half + i become uncond + scale·(cond − uncond), as upstream's
    /// `torch.cat([half_eps, half_eps])`; other channels stay as they were.
    public static func apply(_ out: UnsafeMutablePointer<Float>, half: Int, channels: Int, planeSize: Int,
                             rowStride: Int, scale: Float) {
        for i in 0..<half {
            let cond = out + i * rowStride, uncond = out + (half + i) * rowStride
            for j in 0..<(channels * planeSize) {
                let u = uncond[j]
                let g = u + scale * (cond[j] - u)
                cond[j] = g
                uncond[j] = g
            }
        }
    }
}

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
