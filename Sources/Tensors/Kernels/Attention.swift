/// Multi-head scaled dot-product attention over packed qkv rows.
public enum Attention {
    /// For each of `batch` sequences of `tokens` rows, qkv rows are laid out
    /// [q | k | v], each `heads·headDim` wide with head h at columns
    /// h·headDim (timm's `qkv.reshape(B, N, 3, H, hd)`). Writes
    /// softmax(q·kᵀ/√hd)·v into out[batch·tokens × heads·headDim], head h at
    /// columns h·headDim. `scores` must hold tokens×tokens floats: only one
    /// head's score matrix exists at a time.
    public static func forward(
        qkv: UnsafePointer<Float>, batch: Int, tokens: Int, heads: Int, headDim: Int,
        scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>
    ) {
        let dim = heads * headDim, ld = 3 * dim
        let scale = 1 / Float(headDim).squareRoot()
        for b in 0..<batch {
            let base = qkv + b * tokens * ld
            for h in 0..<heads {
                let q = base + h * headDim, k = q + dim, v = q + 2 * dim
                Gemm.sgemm(m: tokens, n: tokens, k: headDim, a: q, lda: ld, b: k, ldb: ld, transB: true,
                           c: scores, ldc: tokens, alpha: scale)
                Activation.softmaxRows(scores, rows: tokens, cols: tokens)
                Gemm.sgemm(m: tokens, n: headDim, k: tokens, a: scores, lda: tokens, b: v, ldb: ld,
                           c: out + b * tokens * dim + h * headDim, ldc: dim)
            }
        }
    }
}
