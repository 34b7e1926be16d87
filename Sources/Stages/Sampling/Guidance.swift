import Tensors

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
