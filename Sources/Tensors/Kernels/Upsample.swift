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

// MARK: - Naive twins

extension Reference {
    /// F.interpolate(scale_factor=2, mode="nearest"): output (r, c) reads input (r/2, c/2).
    public static func upsampleNearest2x(_ x: [Float], planes: Int, height: Int, width: Int) -> [Float] {
        var y = [Float](repeating: 0, count: planes * 4 * height * width)
        for p in 0..<planes {
            for r in 0..<(2 * height) {
                for c in 0..<(2 * width) {
                    y[(p * 2 * height + r) * 2 * width + c] = x[(p * height + r / 2) * width + c / 2]
                }
            }
        }
        return y
    }
}
