import Tensors

/// nn.Linear: y = x·Wᵀ + b. The weight lives in `LinearWeights`, in the
/// layout its GEMM runs fastest (packed panels for few rows, transposed for
/// OpenBLAS otherwise).
public struct Linear {
    public var inFeatures: Int { weights.inFeatures }
    public var outFeatures: Int { weights.outFeatures }
    let weights: LinearWeights
    let bias: Tensor?

    /// Loads `prefix.weight` (out, in) and `prefix.bias`.
    public init(_ checkpoint: Checkpoint, _ prefix: String, bias hasBias: Bool = true) throws {
        let w = try checkpoint.tensor(prefix + ".weight")
        // `w` must outlive the raw pointer read (ARC may release it after its last use).
        weights = withExtendedLifetime(w) { LinearWeights(weight: w.pointer, outFeatures: w.shape[0], inFeatures: w.shape[1]) }
        bias = hasBias ? try checkpoint.tensor(prefix + ".bias") : nil
    }

    public func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        weights.apply(x, rows: rows, bias: bias?.pointer, into: y)
    }
}
