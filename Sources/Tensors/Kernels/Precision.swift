/// The number format of the linear layers' weights and products.
/// `fp32` is exact (the upstream contract); `bf16` keeps weights in bfloat16
/// (half the memory) and multiplies through oneDNN's bf16 matmul with fp32
/// accumulation, activations staying fp32 between ops.
public enum Precision: String, CaseIterable, Codable, Sendable {
    case fp32, bf16

    /// Checks that this CPU can run `self`; bf16 needs oneDNN's bf16 kernels
    /// (the `avx512_bf16` or `amx_bf16` CPU flag).
    public func validate() throws {
        guard self == .bf16, !OneDNN.hasBF16 else { return }
        throw TensorError("--precision bf16: oneDNN has no bf16 kernels on this CPU (\(CPUFeatures.current.modelName)): "
                          + "they need the avx512_bf16 or amx_bf16 flag, and oneDNN runs at \(OneDNN.isaName); use --precision fp32")
    }
}
