import CBLAS
import CDNNL

/// Matrix products over the chosen `GemmBackend`. Row-major throughout.
/// Every GEMM of the product goes through `sgemm` (directly, or through
/// `linear`), so the backend is one switch.
public enum Gemm {
    /// The library behind `sgemm`; set once per run, before any product
    /// (`GemmBackend.resolve` turns `--gemm` into it).
    public nonisolated(unsafe) static var backend: GemmBackend = .openblas

    /// The precision linear layers are built in (`LinearWeights`); set once
    /// per run, before the model loads.
    public nonisolated(unsafe) static var precision: Precision = .fp32

    /// "onednn 2.6.3 (avx512_core_bf16), 2 threads": for bench and profile
    /// output, trace metadata and dump attributes.
    public static var description: String {
        switch backend {
        case .openblas: return "openblas \(OpenBLAS.version) (\(OpenBLAS.coreName)), \(threads) thread\(threads == 1 ? "" : "s")"
        case .onednn: return "onednn \(OneDNN.version) (\(OneDNN.isaName)), \(threads) thread\(threads == 1 ? "" : "s")"
        }
    }

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
        switch backend {
        case .openblas:
            cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                        blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                        beta, c, blasint(ldc))
        case .onednn:
            let status = dnnl_sgemm(transA ? 84 : 78, transB ? 84 : 78, dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k),
                                    alpha, a, dnnl_dim_t(lda), b, dnnl_dim_t(ldb), beta, c, dnnl_dim_t(ldc))
            precondition(status == dnnl_success, "dnnl_sgemm(\(m)×\(n)×\(k)) failed with status \(status.rawValue)")
        }
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

    /// The number of threads the GEMM libraries use, and a way to set it per
    /// rank; setting it sizes both libraries' pools (OpenBLAS's and oneDNN's
    /// OpenMP team) and `Parallel.threads` for our own kernels.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set {
            openblas_set_num_threads(Int32(newValue))
            omp_set_num_threads(Int32(newValue))
            Parallel.threads = newValue
        }
    }

    /// Runs `body`, whose products run on the calling thread only: for
    /// callers that split work over threads themselves. OpenBLAS's count is
    /// global; OpenMP's is per calling thread, so each worker sets its own
    /// and puts it back (one of them is the caller's thread).
    @inline(__always)
    public static func singleThreaded<R>(_ body: () -> R) -> R {
        let saved = omp_get_max_threads()
        omp_set_num_threads(1)
        defer { omp_set_num_threads(saved) }
        return body()
    }
}

// MARK: - Naive twins

extension Reference {
    public static func linear(_ x: [Float], rows: Int, inFeatures: Int, weight: [Float], bias: [Float]?,
                              outFeatures: Int) -> [Float] {
        var y = [Float](repeating: 0, count: rows * outFeatures)
        for r in 0..<rows {
            for o in 0..<outFeatures {
                var s = Double(bias?[o] ?? 0)
                for i in 0..<inFeatures { s += Double(x[r * inFeatures + i]) * Double(weight[o * inFeatures + i]) }
                y[r * outFeatures + o] = Float(s)
            }
        }
        return y
    }

    /// C = alpha·op(A)·op(B) + beta·C, row-major with leading dimensions.
    public static func sgemm(m: Int, n: Int, k: Int, a: [Float], lda: Int, transA: Bool, b: [Float], ldb: Int,
                             transB: Bool, c: [Float], ldc: Int, alpha: Float, beta: Float) -> [Float] {
        var out = c
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let x = transA ? a[p * lda + i] : a[i * lda + p], y = transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(x) * Double(y)
                }
                out[i * ldc + j] = Float(Double(alpha) * s + Double(beta) * Double(c[i * ldc + j]))
            }
        }
        return out
    }

    /// out[c][r] = a[r][c].
    public static func transpose(_ a: [Float], rows: Int, cols: Int) -> [Float] {
        (0..<(cols * rows)).map { i in a[(i % rows) * cols + i / rows] }
    }
}
