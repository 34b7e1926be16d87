import Tensors

/// nn.Linear: y = x·Wᵀ + b. The weight is kept transposed (in × out), the
/// layout OpenBLAS multiplies fastest.
public struct Linear {
    public let inFeatures: Int
    public let outFeatures: Int
    let weightT: Tensor
    let bias: Tensor?

    /// Loads `prefix.weight` (out, in) and `prefix.bias`.
    public init(_ checkpoint: Checkpoint, _ prefix: String, bias hasBias: Bool = true) throws {
        let w = try checkpoint.tensor(prefix + ".weight")
        outFeatures = w.shape[0]
        inFeatures = w.shape[1]
        weightT = Tensor(shape: [inFeatures, outFeatures])
        Gemm.transpose(w.pointer, rows: outFeatures, cols: inFeatures, into: weightT.data)
        bias = hasBias ? try checkpoint.tensor(prefix + ".bias") : nil
    }

    public func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        Gemm.linear(x, rows: rows, inFeatures: inFeatures, weightT: weightT.pointer, bias: bias?.pointer,
                    outFeatures: outFeatures, into: y)
    }
}
