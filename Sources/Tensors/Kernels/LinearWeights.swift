/// The weights of one nn.Linear in the form the chosen precision multiplies:
/// fp32 transposed (in × out) for `Gemm.linear`, or bf16 packed once into
/// oneDNN's blocked layout (the fp32 copy is not kept).
public final class LinearWeights {
    public let inFeatures: Int
    public let outFeatures: Int
    public let precision: Precision
    let weightT: Tensor?
    let bias: Tensor?
    let matmul: OneDNNMatmul?

    /// weight: (out, in) row-major, as nn.Linear stores it.
    public init(weight: UnsafePointer<Float>, outFeatures: Int, inFeatures: Int, bias: Tensor?, precision: Precision) {
        (self.inFeatures, self.outFeatures, self.precision, self.bias) = (inFeatures, outFeatures, precision, bias)
        let t = Tensor(shape: [inFeatures, outFeatures])
        Gemm.transpose(weight, rows: outFeatures, cols: inFeatures, into: t.data)
        switch precision {
        case .fp32:
            (weightT, matmul) = (t, nil)
        case .bf16:
            weightT = nil
            matmul = OneDNNMatmul(weightT: t.pointer, k: inFeatures, n: outFeatures, bias: bias?.pointer)
        }
    }

    /// y[rows × out] = x[rows × in] · Wᵀ + b; `fewRows: false` keeps small
    /// row counts on the general GEMM (see `Gemm.linear`).
    public func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>,
                               fewRows: Bool = true) {
        guard rows > 0 else { return }
        if let matmul { return matmul(x, rows: rows, into: y) }
        Gemm.linear(x, rows: rows, inFeatures: inFeatures, weightT: weightT!.pointer, bias: bias?.pointer,
                    outFeatures: outFeatures, into: y, fewRows: fewRows)
    }

    /// Bytes held for the weight and bias.
    public var residentBytes: Int {
        (matmul?.weightBytes ?? 4 * inFeatures * outFeatures) + 4 * (bias?.count ?? 0)
    }
}
