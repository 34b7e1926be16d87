import CBLAS
import Dispatch

/// Multi-head scaled dot-product attention over packed qkv rows.
public enum Attention {
    /// For each of `batch` sequences of `tokens` rows, qkv rows are laid out
    /// [q | k | v], each `heads·headDim` wide with head h at columns
    /// h·headDim (timm's `qkv.reshape(B, N, 3, H, hd)`). Writes
    /// softmax(q·kᵀ/√hd)·v into out[batch·tokens × heads·headDim], head h at
    /// columns h·headDim. `scores` must hold threads·tokens·tokens floats:
    /// each thread has one head's score matrix at a time.
    ///
    /// With `threads` > 1 the (sequence, head) pairs are split over threads,
    /// each running single-threaded GEMMs: per-head GEMMs are too small
    /// (T×T×hd) for OpenBLAS to split well. A head is computed the same way
    /// whichever thread runs it.
    public static func forward(
        qkv: UnsafePointer<Float>, batch: Int, tokens: Int, heads: Int, headDim: Int,
        scores: UnsafeMutablePointer<Float>, threads: Int = 1, into out: UnsafeMutablePointer<Float>
    ) {
        let units = batch * heads, n = min(threads, units)
        guard n > 1 else {
            head(0..<units, qkv: qkv, tokens: tokens, heads: heads, headDim: headDim, scores: scores, into: out)
            return
        }
        let blasThreads = openblas_get_num_threads()
        openblas_set_num_threads(1)
        DispatchQueue.concurrentPerform(iterations: n) { i in
            head((i * units / n)..<((i + 1) * units / n), qkv: qkv, tokens: tokens, heads: heads, headDim: headDim,
                 scores: scores + i * tokens * tokens, into: out)
        }
        openblas_set_num_threads(blasThreads)
    }

    /// Units u = b·heads + h in `range`: sequence b, head h.
    static func head(
        _ range: Range<Int>, qkv: UnsafePointer<Float>, tokens: Int, heads: Int, headDim: Int,
        scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>
    ) {
        let dim = heads * headDim, ld = 3 * dim
        let scale = 1 / Float(headDim).squareRoot()
        for u in range {
            let b = u / heads, h = u % heads
            let q = qkv + b * tokens * ld + h * headDim, k = q + dim, v = q + 2 * dim
            Gemm.sgemm(m: tokens, n: tokens, k: headDim, a: q, lda: ld, b: k, ldb: ld, transB: true,
                       c: scores, ldc: tokens, alpha: scale)
            Activation.softmaxRows(scores, rows: tokens, cols: tokens)
            Gemm.sgemm(m: tokens, n: headDim, k: tokens, a: scores, lda: tokens, b: v, ldb: ld,
                       c: out + b * tokens * dim + h * headDim, ldc: dim)
        }
    }

    /// Floats of scratch one thread needs for `forward(…, scratch:…)`.
    public static func scratchCount(tokens: Int, headDim: Int) -> Int {
        let tr = roundUp(tokens, 6), tc = roundUp(tokens, 16), hp = roundUp(headDim, 16)
        return tr * headDim + headDim * tc + tr * tc + tokens * hp + tr * hp
    }

    /// The same attention with the per-head products on `TileGemm` instead of
    /// OpenBLAS: q (scaled by 1/√hd first, as upstream), kᵀ and v are packed
    /// into zero-padded per-thread buffers, so one head's scores are the
    /// only T×T matrix. `scratch` holds threads·`scratchCount` floats; the
    /// (sequence, head) pairs are split over `threads`.
    public static func forward(
        qkv: UnsafePointer<Float>, batch: Int, tokens: Int, heads: Int, headDim: Int,
        scratch: UnsafeMutablePointer<Float>, threads: Int, into out: UnsafeMutablePointer<Float>
    ) {
        let units = batch * heads, n = max(1, min(threads, units)), per = scratchCount(tokens: tokens, headDim: headDim)
        if n == 1 {
            tiledHead(0..<units, qkv: qkv, tokens: tokens, heads: heads, headDim: headDim, scratch: scratch, into: out)
            return
        }
        DispatchQueue.concurrentPerform(iterations: n) { i in
            tiledHead((i * units / n)..<((i + 1) * units / n), qkv: qkv, tokens: tokens, heads: heads,
                      headDim: headDim, scratch: scratch + i * per, into: out)
        }
    }

    static func tiledHead(
        _ range: Range<Int>, qkv: UnsafePointer<Float>, tokens t: Int, heads: Int, headDim hd: Int,
        scratch: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>
    ) {
        let dim = heads * hd, ld = 3 * dim
        let tr = roundUp(t, 6), tc = roundUp(t, 16), hp = roundUp(hd, 16)
        let qs = scratch, kt = qs + tr * hd, s = kt + hd * tc, vp = s + tr * tc, op = vp + t * hp
        qs.update(repeating: 0, count: tr * hd + hd * tc)
        vp.update(repeating: 0, count: t * hp)
        let scale = 1 / Float(hd).squareRoot()
        for u in range {
            let b = u / heads, h = u % heads
            let q = qkv + b * t * ld + h * hd, k = q + dim, v = q + 2 * dim
            for i in 0..<t {
                for d in 0..<hd {
                    qs[i * hd + d] = q[i * ld + d] * scale
                    kt[d * tc + i] = k[i * ld + d]
                }
                (vp + i * hp).update(from: v + i * ld, count: hd)
            }
            TileGemm.gemm(m: tr, n: tc, k: hd, a: qs, lda: hd, b: kt, ldb: tc, c: s, ldc: tc)   // (T, T)
            Activation.softmaxRows(s, rows: t, cols: t, stride: tc)
            TileGemm.gemm(m: tr, n: hp, k: t, a: s, lda: tc, b: vp, ldb: hp, c: op, ldc: hp)   // (T, hd)
            let o = out + b * t * dim + h * hd
            for i in 0..<t { (o + i * dim).update(from: op + i * hp, count: hd) }
        }
    }

    @inline(__always) static func roundUp(_ x: Int, _ m: Int) -> Int { (x + m - 1) / m * m }
}
