/// Normalisations over the last dimension of row-major matrices.
public enum Norm {
    /// Mean and 1/sqrt(var + eps) of one row, accumulated in SIMD lanes
    /// (scalar float reductions do not vectorise) and finished in Double.
    @inline(__always)
    static func moments(_ x: UnsafePointer<Float>, count n: Int, eps: Float) -> (mean: Float, rstd: Float) {
        var s = SIMD16<Float>(), i = 0
        while i + 16 <= n { s += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self); i += 16 }
        var sum = Double(s.sum())
        while i < n { sum += Double(x[i]); i += 1 }
        let mean = Float(sum / Double(n))
        let m16 = SIMD16<Float>(repeating: mean)
        var q = SIMD16<Float>(); i = 0
        while i + 16 <= n {
            let d = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) - m16
            q += d * d; i += 16
        }
        var sq = Double(q.sum())
        while i < n { let d = Double(x[i] - mean); sq += d * d; i += 1 }
        let variance = Float(sq / Double(n))
        return (mean, 1 / (variance + eps).squareRoot())
    }

    /// LayerNorm without affine parameters: y = (x − mean) / sqrt(var + eps).
    public static func layerNorm(_ x: UnsafePointer<Float>, rows: Int, cols: Int, eps: Float,
                                 into y: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let xr = x + r * cols, yr = y + r * cols
            let (mean, rstd) = moments(xr, count: cols, eps: eps)
            for j in 0..<cols { yr[j] = (xr[j] - mean) * rstd }
        }
    }

    /// LayerNorm (no affine) followed by a per-group affine map:
    /// y = norm(x) · (1 + scale[g]) + shift[g], where rows are in groups of
    /// `groupRows` consecutive rows and group g's vectors start at
    /// `scale + g·groupStride`, `shift + g·groupStride`. One pass instead of two.
    public static func layerNormModulate(
        _ x: UnsafePointer<Float>, rows: Int, cols: Int, eps: Float, groupRows: Int,
        shift: UnsafePointer<Float>, scale: UnsafePointer<Float>, groupStride: Int,
        into y: UnsafeMutablePointer<Float>
    ) {
        Parallel.ranges(rows, grain: 16) { range in
            for r in range { modulateRow(x, r: r, cols: cols, eps: eps, groupRows: groupRows, shift: shift, scale: scale,
                                         groupStride: groupStride, into: y) }
        }
    }

    @inline(__always)
    static func modulateRow(
        _ x: UnsafePointer<Float>, r: Int, cols: Int, eps: Float, groupRows: Int,
        shift: UnsafePointer<Float>, scale: UnsafePointer<Float>, groupStride: Int,
        into y: UnsafeMutablePointer<Float>
    ) {
        let g = r / groupRows
        let sh = shift + g * groupStride, sc = scale + g * groupStride
        let xr = x + r * cols, yr = y + r * cols
        let (mean, rstd) = moments(xr, count: cols, eps: eps)
        let m16 = SIMD16<Float>(repeating: mean), r16 = SIMD16<Float>(repeating: rstd)
        var j = 0
        while j + 16 <= cols {
            let v = (UnsafeRawPointer(xr + j).loadUnaligned(as: SIMD16<Float>.self) - m16) * r16
            let a = UnsafeRawPointer(sc + j).loadUnaligned(as: SIMD16<Float>.self)
            let b = UnsafeRawPointer(sh + j).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(yr + j).storeBytes(of: v * (1 + a) + b, as: SIMD16<Float>.self)
            j += 16
        }
        while j < cols { yr[j] = (xr[j] - mean) * rstd * (1 + sc[j]) + sh[j]; j += 1 }
    }
}

// MARK: - Naive twins

extension Reference {
    public static func layerNorm(_ x: [Float], rows: Int, cols: Int, eps: Double) -> [Float] {
        var y = x
        for r in 0..<rows {
            let row = x[(r * cols)..<((r + 1) * cols)].map(Double.init)
            let mean = row.reduce(0, +) / Double(cols)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(cols)
            for j in 0..<cols { y[r * cols + j] = Float((row[j] - mean) / (variance + eps).squareRoot()) }
        }
        return y
    }

    /// LayerNorm, then group g's affine map y·(1 + scale) + shift (vectors
    /// `groupStride` apart, one group per `groupRows` rows).
    public static func layerNormModulate(_ x: [Float], rows: Int, cols: Int, eps: Double, groupRows: Int,
                                         shift: [Float], scale: [Float], groupStride: Int) -> [Float] {
        let normed = layerNorm(x, rows: rows, cols: cols, eps: eps)
        var y = normed
        for r in 0..<rows {
            let g = r / groupRows
            for j in 0..<cols {
                let s = Double(scale[g * groupStride + j]), b = Double(shift[g * groupStride + j])
                y[r * cols + j] = Float(Double(normed[r * cols + j]) * (1 + s) + b)
            }
        }
        return y
    }
}
