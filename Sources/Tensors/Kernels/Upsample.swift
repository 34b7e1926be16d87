/// Spatial upsampling of NCHW tensors.
public enum Upsample {
    /// PyTorch `F.interpolate(x, scale_factor=2, mode="nearest")`: each of
    /// `planes` (= N·C) height×width planes becomes 2·height × 2·width with
    /// every value repeated in a 2×2 square.
    public static func nearest2x(_ x: UnsafePointer<Float>, planes: Int, height: Int, width: Int,
                                 into y: UnsafeMutablePointer<Float>) {
        let w2 = 2 * width
        for p in 0..<planes {
            let xp = x + p * height * width, yp = y + p * 4 * height * width
            for r in 0..<height {
                let src = xp + r * width, dst = yp + 2 * r * w2
                for c in 0..<width { let v = src[c]; dst[2 * c] = v; dst[2 * c + 1] = v }
                (dst + w2).update(from: dst, count: w2)
            }
        }
    }
}
