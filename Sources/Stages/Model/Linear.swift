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
        let (rows, cols) = (w.shape[0], w.shape[1])
        let t = Tensor(shape: [cols, rows])
        // `w` must outlive the raw pointer read (ARC may release it after its last use).
        withExtendedLifetime(w) { Gemm.transpose(w.pointer, rows: rows, cols: cols, into: t.data) }
        (outFeatures, inFeatures, weightT) = (rows, cols, t)
        bias = hasBias ? try checkpoint.tensor(prefix + ".bias") : nil
    }

    public func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        Gemm.linear(x, rows: rows, inFeatures: inFeatures, weightT: weightT.pointer, bias: bias?.pointer,
                    outFeatures: outFeatures, into: y)
    }

    /// The layer on token rows: always the general GEMM, whose rows do not
    /// depend on the row count, never the few-rows kernel — so a token's
    /// result is the same whether a rank holds all T tokens of an image or,
    /// under Ulysses, T/P of them (P·rows may fall to 16 or fewer).
    public func tokens(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        Gemm.linear(x, rows: rows, inFeatures: inFeatures, weightT: weightT.pointer, bias: bias?.pointer,
                    outFeatures: outFeatures, into: y, fewRows: false)
    }
}
