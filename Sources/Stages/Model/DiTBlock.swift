import Tensors

/// A DiT block with adaLN-Zero conditioning (DiT paper, Fig. 3; upstream's
/// `DiTBlock.forward`):
///
///   shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = adaLN_modulation(c).chunk(6, dim=1)
///   x = x + gate_msa · attn(modulate(norm1(x), shift_msa, scale_msa))
///   x = x + gate_mlp · mlp(modulate(norm2(x), shift_mlp, scale_mlp))
///
/// Names from upstream's models.py keep its spelling, so that a checkpoint
/// key (`blocks.3.attn.qkv`) maps to code by eye. Each op runs through the
/// workspace's `Ops`, so a profiler or a dump observes it.
public struct DiTBlock {
    /// Attention from qkv (rows, 3D) into out (rows, D).
    public typealias Attend = (_ qkv: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) throws -> Void

    public let index: Int
    let norm1: LayerNorm, norm2: LayerNorm // no affine parameters
    let attn: SelfAttention                // blocks.i.attn.{qkv, proj}
    let mlp: Mlp                           // blocks.i.mlp.{fc1, fc2}
    let adaLN_modulation: Linear           // blocks.i.adaLN_modulation.1 (after SiLU)

    public init(_ checkpoint: Checkpoint, index: Int) throws {
        let p = "blocks.\(index)."
        self.index = index
        attn = try SelfAttention(checkpoint, p + "attn")
        mlp = try Mlp(checkpoint, p + "mlp")
        adaLN_modulation = try Linear(checkpoint, p + "adaLN_modulation.1")
        norm1 = LayerNorm(features: attn.dim)
        norm2 = norm1
    }

    public var heads: Int { attn.heads }
    public var headDim: Int { attn.headDim }

    /// x: (N·T, D) in place; the workspace must hold silu(c) for the batch.
    public func callAsFunction(_ x: Tensor, batch n: Int, workspace ws: Workspace) {
        forward(x, batch: n, workspace: ws, attend: attn.local(batch: n, workspace: ws))
    }

    /// The block with attention supplied by `attend`: local attention, or
    /// Ulysses' all-to-all around it, where x holds only this rank's T/P
    /// tokens of each image (T below is the tokens this rank holds).
    public func forward(_ x: Tensor, batch n: Int, workspace ws: Workspace, attend: Attend) rethrows {
        let d = attn.dim, t = ws.tokens, rows = n * t, op = ws.ops(block: index)
        let c = ws.siluC.pointer, mod = ws.modulation.data, normed = ws.normed.data, branch = ws.branch.data
        let (shift_msa, scale_msa, gate_msa) = (mod, mod + d, mod + 2 * d)          // image i's at + i·6D
        let (shift_mlp, scale_mlp, gate_mlp) = (mod + 3 * d, mod + 4 * d, mod + 5 * d)

        op(.adaLN, mod, rows: n, cols: 6 * d) { adaLN_modulation(c, rows: n, groups: ws.rowGroups, into: mod) }               // (N, D) → (N, 6D)
        op(.norm, normed, rows: rows, cols: d) {                                                       // (N·T, D)
            norm1(x.pointer, rows: rows, tokens: t, shift: shift_msa, scale: scale_msa, stride: 6 * d, into: normed)
        }
        try attn(normed, rows: rows, workspace: ws, op, attend: attend, into: branch)                  // (N·T, D)
        op(.residual, x.data, rows: rows, cols: d) { gated(x, branch, gate_msa, rows: rows, tokens: t) } // x += gate_msa · attn

        op(.norm, normed, rows: rows, cols: d) {                                                       // (N·T, D)
            norm2(x.pointer, rows: rows, tokens: t, shift: shift_mlp, scale: scale_mlp, stride: 6 * d, into: normed)
        }
        mlp(normed, rows: rows, workspace: ws, op, into: branch)                                       // (N·T, D)
        op(.residual, x.data, rows: rows, cols: d) { gated(x, branch, gate_mlp, rows: rows, tokens: t) } // x += gate_mlp · mlp
    }

    /// x += gate · branch, each image's gate (one of adaLN's six vectors) on its tokens.
    private func gated(_ x: Tensor, _ branch: UnsafePointer<Float>, _ gate: UnsafePointer<Float>, rows: Int, tokens: Int) {
        let d = attn.dim
        Elementwise.addGated(x.data, branch, rows: rows, cols: d, gate: gate, groupRows: tokens, groupStride: 6 * d)
    }
}
