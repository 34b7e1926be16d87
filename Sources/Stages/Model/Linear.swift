import Tensors

/// nn.Linear: y = x·Wᵀ + b, in the run's precision (`Gemm.precision`).
public struct Linear {
    let weights: LinearWeights

    public var inFeatures: Int { weights.inFeatures }
    public var outFeatures: Int { weights.outFeatures }

    /// Loads `prefix.weight` (out, in) and `prefix.bias`.
    public init(_ checkpoint: Checkpoint, _ prefix: String, bias hasBias: Bool = true) throws {
        let w = try checkpoint.tensor(prefix + ".weight")
        self.init(weight: w, bias: hasBias ? try checkpoint.tensor(prefix + ".bias") : nil)
    }

    /// A linear layer from an in-memory (out, in) weight.
    init(weight w: Tensor, bias: Tensor?) {
        // `w` must outlive the raw pointer read (ARC may release it after its last use).
        weights = withExtendedLifetime(w) {
            LinearWeights(weight: w.pointer, outFeatures: w.shape[0], inFeatures: w.shape[1], bias: bias,
                          precision: Gemm.precision)
        }
    }

    public func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, groups: Int = 1, into y: UnsafeMutablePointer<Float>) {
        split(rows: rows, groups: groups) { r0, r in weights(x + r0 * inFeatures, rows: r, into: y + r0 * outFeatures) }
    }

    /// Bytes of weight and bias held.
    public var residentBytes: Int { weights.residentBytes }

    /// The layer on token rows: always the general GEMM, whose rows do not
    /// depend on the row count, never the few-rows kernel — so a token's
    /// result is the same whether a rank holds all T tokens of an image or,
    /// under Ulysses, T/P of them (P·rows may fall to 16 or fewer).
    public func tokens(_ x: UnsafePointer<Float>, rows: Int, groups: Int = 1, into y: UnsafeMutablePointer<Float>) {
        split(rows: rows, groups: groups) { r0, r in weights(x + r0 * inFeatures, rows: r, into: y + r0 * outFeatures, fewRows: false) }
    }

    /// `groups` equal runs of rows, one GEMM call each (`Workspace.rowGroups`):
    /// a GEMM may round a row differently with the call's row count (OpenBLAS
    /// always, oneDNN on AVX2), so the halves of a [conditional; null] batch
    /// are multiplied as a CFG-parallel rank multiplies its half alone.
    @inline(__always)
    private func split(rows: Int, groups: Int, _ body: (_ first: Int, _ rows: Int) -> Void) {
        guard groups > 1, rows % groups == 0 else { return body(0, rows) }
        let r = rows / groups
        for g in 0..<groups { body(g * r, r) }
    }
}
