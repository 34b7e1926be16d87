import Tensors

/// The final layer (upstream's `FinalLayer`): adaLN (shift, scale)
/// modulation of norm_final(x), then a linear map of each token to a
/// p×p×out_channels patch.
public struct FinalLayer {
    let norm_final: LayerNorm
    let linear: Linear
    let adaLN_modulation: Linear

    public init(_ checkpoint: Checkpoint) throws {
        linear = try Linear(checkpoint, "final_layer.linear")
        adaLN_modulation = try Linear(checkpoint, "final_layer.adaLN_modulation.1")
        norm_final = LayerNorm(features: linear.inFeatures)
    }

    public var outFeatures: Int { linear.outFeatures }

    /// x: (N·T, D) → out (N·T, p·p·C_out).
    public func callAsFunction(_ x: Tensor, batch n: Int, workspace ws: Workspace, into out: UnsafeMutablePointer<Float>) {
        let d = linear.inFeatures, t = ws.tokens, rows = n * t, op = ws.ops()
        let c = ws.siluC.pointer, mod = ws.modulation.data, normed = ws.normed.data
        let (shift, scale) = (mod, mod + d)                                                       // image i's at + i·2D

        op(.adaLN, mod, rows: n, cols: 2 * d) { adaLN_modulation(c, rows: n, groups: ws.rowGroups, into: mod) }          // (N, D) → (N, 2D)
        op(.norm, normed, rows: rows, cols: d) {                                                  // (N·T, D)
            norm_final(x.pointer, rows: rows, tokens: t, shift: shift, scale: scale, stride: 2 * d, into: normed)
        }
        op(.finalLinear, out, rows: rows, cols: outFeatures) { linear.tokens(normed, rows: rows, groups: ws.rowGroups, into: out) } // (N·T, p·p·C_out)
    }
}
