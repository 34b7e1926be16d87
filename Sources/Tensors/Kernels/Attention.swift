import Foundation
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
        Parallel.perform(n) { i in
            Gemm.singleThreaded {
                head((i * units / n)..<((i + 1) * units / n), qkv: qkv, tokens: tokens, heads: heads, headDim: headDim,
                     scores: scores + i * tokens * tokens, into: out)
            }
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

    /// Query rows per block of the fused kernel: one block's scores
    /// (blockRows × T) stay in L1 from QKᵀ through softmax to PV.
    static let blockRows = 24

    /// Floats of scratch one thread needs for `forward(…, scratch:…)`.
    public static func scratchCount(tokens: Int, headDim: Int) -> Int {
        let tc = roundUp(tokens, 16), hp = roundUp(headDim, 16), rb = min(blockRows, roundUp(tokens, 6))
        return headDim * tc + tokens * hp + rb * (headDim + tc + hp)
    }

    /// The same attention with the per-head products on `TileGemm` instead of
    /// OpenBLAS, fused per block of query rows: q·kᵀ (q scaled by 1/√hd
    /// first, as upstream), softmax and ·v for `blockRows` queries at a time,
    /// so no T×T matrix is ever stored. kᵀ and v are packed once per head
    /// into 16-wide panels, each contiguous, so a tile's B operand stays in
    /// L1. `scratch` holds threads·`scratchCount` floats; the (sequence,
    /// head) pairs are split over `threads`. Every score and output is one
    /// FMA chain in order, whatever the block, tile or thread.
    public static func forward(
        qkv: UnsafePointer<Float>, batch: Int, tokens: Int, heads: Int, headDim: Int,
        scratch: UnsafeMutablePointer<Float>, threads: Int, into out: UnsafeMutablePointer<Float>
    ) {
        let units = batch * heads, n = max(1, min(threads, units)), per = scratchCount(tokens: tokens, headDim: headDim)
        if n == 1 {
            fusedHeads(0..<units, qkv: qkv, tokens: tokens, heads: heads, headDim: headDim, scratch: scratch, into: out)
            return
        }
        Parallel.perform(n) { i in
            fusedHeads((i * units / n)..<((i + 1) * units / n), qkv: qkv, tokens: tokens, heads: heads,
                       headDim: headDim, scratch: scratch + i * per, into: out)
        }
    }

    static func fusedHeads(
        _ range: Range<Int>, qkv: UnsafePointer<Float>, tokens t: Int, heads: Int, headDim hd: Int,
        scratch: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>
    ) {
        let dim = heads * hd, ld = 3 * dim
        let tc = roundUp(t, 16), hp = roundUp(hd, 16), rb = min(blockRows, roundUp(t, 6))
        // kᵀ panels: key j, dim d at kp[(j/16)·hd·16 + d·16 + j%16]; v panels: v[j, d] at vp[(d/16)·t·16 + j·16 + d%16].
        let kp = scratch, vp = kp + hd * tc, qb = vp + t * hp, sb = qb + rb * hd, ob = sb + rb * tc
        let scale = 1 / Float(hd).squareRoot()
        (kp + (tc - 16) * hd).update(repeating: 0, count: 16 * hd)      // the last panel's padding keys
        for u in range {
            let b = u / heads, h = u % heads
            let q = qkv + b * t * ld + h * hd, k = q + dim, v = q + 2 * dim
            for j in 0..<t {
                let kr = k + j * ld, dst = kp + (j >> 4) * hd * 16 + (j & 15)
                for d in 0..<hd { dst[d * 16] = kr[d] }
                let vr = v + j * ld
                for p in 0..<(hp / 16) {
                    let w = min(16, hd - p * 16), to = vp + p * t * 16 + j * 16
                    to.update(from: vr + p * 16, count: w)
                    if w < 16 { (to + w).update(repeating: 0, count: 16 - w) }
                }
            }
            var i0 = 0
            while i0 < t {
                let n = min(rb, t - i0), nr = roundUp(n, 6)
                for i in 0..<nr {
                    let dst = qb + i * hd
                    if i < n {
                        let src = q + (i0 + i) * ld
                        for d in 0..<hd { dst[d] = src[d] * scale }
                    } else {
                        dst.update(repeating: 0, count: hd)
                    }
                }
                TileGemm.panels(m: nr, panels: tc / 16, k: hd, a: qb, lda: hd, b: kp, panelStride: hd * 16, ldb: 16,
                                c: sb, ldc: tc)
                Activation.softmaxRows(sb, rows: n, cols: t, stride: tc)
                TileGemm.panels(m: nr, panels: hp / 16, k: t, a: sb, lda: tc, b: vp, panelStride: t * 16, ldb: 16,
                                c: ob, ldc: hp)
                for i in 0..<n { (out + (b * t + i0 + i) * dim + h * hd).update(from: ob + i * hp, count: hd) }
                i0 += n
            }
        }
    }

    @inline(__always) static func roundUp(_ x: Int, _ m: Int) -> Int { (x + m - 1) / m * m }
}

// MARK: - Naive twins

extension Reference {
    /// Attention written per query, per key, per head.
    public static func attention(qkv: [Float], batch: Int, tokens: Int, heads: Int, headDim: Int) -> [Float] {
        let dim = heads * headDim
        var out = [Float](repeating: 0, count: batch * tokens * dim)
        for b in 0..<batch {
            for h in 0..<heads {
                for i in 0..<tokens {
                    func at(_ t: Int, _ part: Int, _ d: Int) -> Double {
                        Double(qkv[(b * tokens + t) * 3 * dim + part * dim + h * headDim + d])
                    }
                    var logits = [Double](repeating: 0, count: tokens)
                    for j in 0..<tokens {
                        var s = 0.0
                        for d in 0..<headDim { s += at(i, 0, d) * at(j, 1, d) }
                        logits[j] = s / Double(headDim).squareRoot()
                    }
                    let m = logits.max()!
                    let e = logits.map { exp($0 - m) }
                    let z = e.reduce(0, +)
                    for d in 0..<headDim {
                        var s = 0.0
                        for j in 0..<tokens { s += e[j] / z * at(j, 2, d) }
                        out[(b * tokens + i) * dim + h * headDim + d] = Float(s)
                    }
                }
            }
        }
        return out
    }
}
