import Foundation

/// PyTorch `nn.GroupNorm` over NCHW tensors: each image's channels split into
/// `groups` consecutive groups, each normalised over its channels and all
/// spatial positions, then scaled and shifted per channel.
public enum GroupNorm {
    /// y = (x − mean_g) / sqrt(var_g + eps) · weight[c] + bias[c], followed by
    /// SiLU when `silu` is set (the VAE's norm → activation pairs in one pass).
    /// x is (batch, channels, spatial); y may be x.
    public static func forward(
        _ x: UnsafePointer<Float>, batch: Int, channels: Int, spatial: Int, groups: Int, eps: Float,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, silu: Bool = false,
        into y: UnsafeMutablePointer<Float>
    ) {
        precondition(groups > 0 && channels % groups == 0, "\(channels) channels do not split into \(groups) groups")
        let perGroup = channels / groups, size = perGroup * spatial
        for n in 0..<batch {
            for g in 0..<groups {
                let offset = (n * channels + g * perGroup) * spatial
                let (mean, rstd) = moments(x + offset, count: size, eps: eps)
                for cc in 0..<perGroup {
                    let c = g * perGroup + cc
                    // (x − mean)·rstd·w + b = x·a + s, with a = rstd·w, s = b − mean·a.
                    let a = rstd * weight[c], s = bias[c] - mean * a
                    let xc = x + offset + cc * spatial, yc = y + offset + cc * spatial
                    affine(xc, count: spatial, scale: a, shift: s, silu: silu, into: yc)
                }
            }
        }
    }

    @inline(__always)
    static func affine(_ x: UnsafePointer<Float>, count: Int, scale: Float, shift: Float, silu: Bool,
                       into y: UnsafeMutablePointer<Float>) {
        let a16 = SIMD16<Float>(repeating: scale), s16 = SIMD16<Float>(repeating: shift)
        var i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) * a16 + s16
            UnsafeMutableRawPointer(y + i).storeBytes(of: v, as: SIMD16<Float>.self)
            i += 16
        }
        while i < count { y[i] = x[i] * scale + shift; i += 1 }
        if silu { Activation.silu(y, count: count, into: y) }
    }

    /// Mean and 1/sqrt(var + eps) over `count` values: SIMD partial sums over
    /// blocks of 4096, combined in Double, so a million-value group keeps
    /// full float precision. The variance is two-pass (no cancellation).
    static func moments(_ x: UnsafePointer<Float>, count n: Int, eps: Float) -> (mean: Float, rstd: Float) {
        let block = 4096
        var sum = 0.0
        for b in stride(from: 0, to: n, by: block) {
            let e = min(n, b + block)
            var s = SIMD16<Float>(), i = b
            while i + 16 <= e { s += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self); i += 16 }
            var t = Double(s.sum())
            while i < e { t += Double(x[i]); i += 1 }
            sum += t
        }
        let meanD = sum / Double(n), mean = Float(meanD)
        let m16 = SIMD16<Float>(repeating: mean)
        var sq = 0.0
        for b in stride(from: 0, to: n, by: block) {
            let e = min(n, b + block)
            var q = SIMD16<Float>(), i = b
            while i + 16 <= e {
                let d = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) - m16
                q += d * d; i += 16
            }
            var t = Double(q.sum())
            while i < e { let d = Double(x[i] - mean); t += d * d; i += 1 }
            sq += t
        }
        // The mean was rounded to Float before the second pass; correct for it.
        let shift = Double(mean) - meanD
        let variance = max(0, sq / Double(n) - shift * shift)
        return (mean, Float(1 / (variance + Double(eps)).squareRoot()))
    }
}

// MARK: - Naive twins

extension Reference {
    /// nn.GroupNorm, optionally followed by SiLU.
    public static func groupNorm(_ x: [Float], batch: Int, channels: Int, spatial: Int, groups: Int, eps: Double,
                                 weight: [Float], bias: [Float], silu: Bool = false) -> [Float] {
        var y = x
        let per = channels / groups * spatial
        for n in 0..<batch {
            for g in 0..<groups {
                let start = (n * channels + g * channels / groups) * spatial
                let v = x[start..<(start + per)].map(Double.init)
                let mean = v.reduce(0, +) / Double(per)
                let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(per)
                for k in 0..<per {
                    let c = g * channels / groups + k / spatial
                    var out = (v[k] - mean) / (variance + eps).squareRoot() * Double(weight[c]) + Double(bias[c])
                    if silu { out = out / (1 + exp(-out)) }
                    y[start + k] = Float(out)
                }
            }
        }
        return y
    }
}
