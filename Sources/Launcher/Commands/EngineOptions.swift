import ArgumentParser
import Stages
import Tensors

extension GemmBackend.Choice: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}

/// `--gemm` and `--precision`, shared by every command that runs the model.
struct EngineOptions: ParsableArguments {
    @Option(help: "GEMM library: auto (oneDNN where it runs AVX-512, else OpenBLAS), openblas or onednn (default: auto).")
    var gemm: GemmBackend.Choice?
    @Option(help: "fp32 (exact, default) or bf16 (weights in bfloat16 through oneDNN's bf16 matmul; needs avx512_bf16).")
    var precision: Precision?

    /// Sets the backend, precision and threads for this process; returns the
    /// backend's description ("onednn 2.6.3 (avx512_core_bf16), 2 threads").
    @discardableResult
    static func configure(gemm: GemmBackend.Choice, precision: Precision, threads: Int?) throws -> String {
        Gemm.backend = try GemmBackend.resolve(gemm)
        try precision.validate()
        Gemm.precision = precision
        // One count for every pool: OpenBLAS's, oneDNN's OpenMP team and our kernels'.
        // Without --threads it is OpenBLAS's own (OPENBLAS_NUM_THREADS, else the cores).
        Gemm.threads = threads ?? Gemm.threads
        return Gemm.description
    }

    @discardableResult
    func configure(threads: Int?) throws -> String {
        try Self.configure(gemm: gemm ?? .auto, precision: precision ?? .fp32, threads: threads)
    }
}
