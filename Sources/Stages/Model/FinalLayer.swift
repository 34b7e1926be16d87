import Tensors

/// The final layer: adaLN (shift, scale) modulation of norm_final(x), then a
/// linear map of each token to a p×p×out_channels patch.
public struct FinalLayer {
    let linear: Linear
    let adaLN_modulation: Linear

    public init(_ checkpoint: Checkpoint) throws {
        linear = try Linear(checkpoint, "final_layer.linear")
        adaLN_modulation = try Linear(checkpoint, "final_layer.adaLN_modulation.1")
    }

    public var outFeatures: Int { linear.outFeatures }

    /// x: (N·T, D) → out (N·T, p·p·C_out).
    public func callAsFunction(_ x: Tensor, batch n: Int, workspace ws: Workspace, into out: UnsafeMutablePointer<Float>) {
        let d = linear.inFeatures, rows = n * ws.tokens
        let mod = ws.modulation.data
        Profiler.start()
        adaLN_modulation(ws.siluC.pointer, rows: n, into: mod)                // (N, 2D): shift, scale
        Profiler.lap(.adaLN)
        Norm.layerNormModulate(x.pointer, rows: rows, cols: d, eps: DiTConfig.layerNormEps, groupRows: ws.tokens,
                               shift: mod, scale: mod + d, groupStride: 2 * d, into: ws.h.data)
        Profiler.lap(.norm)
        linear.tokens(ws.h.pointer, rows: rows, into: out)
        Profiler.lap(.finalLinear)
    }
}
