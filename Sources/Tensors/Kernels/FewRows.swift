/// y = x·Wᵀ + b for a handful of rows (adaLN modulation, the timestep and
/// label embedders: one row per image). Such products are bound by reading
/// the weight, which OpenBLAS's sgemm packs first (a second pass over it);
/// this kernel streams wT[in×out] once, row after row, into outputs that
/// stay in cache.
///
/// Each output is bias + Σₖ x[k]·wT[k, j], one FMA chain in k order, so it
/// does not depend on the other rows, on `rows` or on the thread count
/// (threads split the output columns).
enum FewRows {
    /// Products with at most this many rows take this path in `Gemm.linear`.
    static let maxRows = 16

    static func linear(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures k: Int,
        weightT w: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures n: Int,
        into y: UnsafeMutablePointer<Float>
    ) {
        // Column slices of whole 16-lane vectors; small products stay on one thread.
        let vectors = (n + 15) / 16
        let grain = max(1, (1 << 13) / max(k * rows, 1))
        Parallel.ranges(vectors, grain: grain) { range in
            let j0 = range.lowerBound * 16, j1 = min(n, range.upperBound * 16)
            columns(j0..<j1, x, rows: rows, k: k, w: w, bias: bias, n: n, y: y)
        }
    }

    @inline(__always)
    static func columns(
        _ cols: Range<Int>, _ x: UnsafePointer<Float>, rows: Int, k: Int,
        w: UnsafePointer<Float>, bias: UnsafePointer<Float>?, n: Int, y: UnsafeMutablePointer<Float>
    ) {
        let j0 = cols.lowerBound, full = j0 + (cols.count & ~15), j1 = cols.upperBound
        for r in 0..<rows {
            let yr = y + r * n
            if let bias { (yr + j0).update(from: bias + j0, count: cols.count) } else { (yr + j0).update(repeating: 0, count: cols.count) }
        }
        var p = 0
        // Four rows of wT at a time, each of their vectors loaded once for all rows:
        // an output vector is loaded and stored once per four FMAs.
        while p + 4 <= k {
            let w0 = w + p * n, w1 = w0 + n, w2 = w1 + n, w3 = w2 + n
            var j = j0
            while j < full {
                let b0 = load16(w0 + j), b1 = load16(w1 + j), b2 = load16(w2 + j), b3 = load16(w3 + j)
                for r in 0..<rows {
                    let xr = x + r * k + p, yr = y + r * n + j
                    var acc = load16(yr)
                    acc = acc.addingProduct(SIMD16(repeating: xr[0]), b0)
                    acc = acc.addingProduct(SIMD16(repeating: xr[1]), b1)
                    acc = acc.addingProduct(SIMD16(repeating: xr[2]), b2)
                    acc = acc.addingProduct(SIMD16(repeating: xr[3]), b3)
                    store16(acc, yr)
                }
                j += 16
            }
            for r in 0..<rows where full < j1 {
                let xr = x + r * k + p, yr = y + r * n
                for j in full..<j1 {
                    var s = yr[j]
                    s = s.addingProduct(xr[0], w0[j]); s = s.addingProduct(xr[1], w1[j])
                    s = s.addingProduct(xr[2], w2[j]); s = s.addingProduct(xr[3], w3[j])
                    yr[j] = s
                }
            }
            p += 4
        }
        while p < k {
            let w0 = w + p * n
            for r in 0..<rows {
                let a = x[r * k + p], yr = y + r * n
                let a0 = SIMD16<Float>(repeating: a)
                var j = j0
                while j < full { store16(load16(yr + j).addingProduct(a0, load16(w0 + j)), yr + j); j += 16 }
                while j < j1 { yr[j] = yr[j].addingProduct(a, w0[j]); j += 1 }
            }
            p += 1
        }
    }
}
