import CBLAS

/// Matrix products over OpenBLAS. Row-major throughout.
public enum Gemm {
    /// C[m×n] = alpha · op(A)·op(B) + beta · C, with leading dimensions given
    /// explicitly so that strided sub-matrices (one attention head inside a
    /// packed qkv row) need no copy.
    @inline(__always)
    public static func sgemm(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0
    ) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                    beta, c, blasint(ldc))
    }

    /// y[rows×outF] = x[rows×inF] · Wᵀ + bias, where the weight is stored
    /// pre-transposed as wT[inF×outF] (OpenBLAS runs faster untransposed).
    public static func linear(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int,
        weightT: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int,
        into y: UnsafeMutablePointer<Float>, fewRows: Bool = true
    ) {
        guard rows > 0 else { return }
        if fewRows && rows <= FewRows.maxRows {
            FewRows.linear(x, rows: rows, inFeatures: inFeatures, weightT: weightT, bias: bias,
                           outFeatures: outFeatures, into: y)
            return
        }
        if let bias {
            for r in 0..<rows { (y + r * outFeatures).update(from: bias, count: outFeatures) }
        }
        sgemm(m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures, b: weightT, ldb: outFeatures,
              c: y, ldc: outFeatures, beta: bias == nil ? 0 : 1)
    }

    /// Writes the transpose of a[rows×cols] into out[cols×rows].
    public static func transpose(_ a: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
        let tile = 32
        for r0 in stride(from: 0, to: rows, by: tile) {
            for c0 in stride(from: 0, to: cols, by: tile) {
                for r in r0..<min(r0 + tile, rows) {
                    for c in c0..<min(c0 + tile, cols) { out[c * rows + r] = a[r * cols + c] }
                }
            }
        }
    }

    /// The number of threads OpenBLAS uses, and a way to set it per rank;
    /// setting it also sizes `Parallel.threads` for the elementwise kernels.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set {
            openblas_set_num_threads(Int32(newValue))
            Parallel.threads = newValue
        }
    }
}
