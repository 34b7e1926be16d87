import Tensors

/// Multi-head self-attention (timm's `Attention`, upstream's `attn`):
/// qkv, softmax(q·kᵀ/√hd)·v per head, proj.
struct SelfAttention {
    let qkv: Linear, proj: Linear          // attn.qkv, attn.proj
    let heads: Int

    init(_ checkpoint: Checkpoint, _ prefix: String) throws {
        qkv = try Linear(checkpoint, prefix + ".qkv")
        proj = try Linear(checkpoint, prefix + ".proj")
        heads = checkpoint.config.numHeads
    }

    var dim: Int { qkv.inFeatures }
    var headDim: Int { dim / heads }

    /// x (rows, D) → out (rows, D), attention through `attend(qkv, into: heads)`:
    /// local, or Ulysses' all-to-all around it.
    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, workspace ws: Workspace, _ op: Ops,
                        attend: DiTBlock.Attend, into out: UnsafeMutablePointer<Float>) rethrows {
        let d = dim, qkvOut = ws.qkv.data, headsOut = ws.heads.data
        op(.qkv, qkvOut, rows: rows, cols: 3 * d) { qkv.tokens(x, rows: rows, groups: ws.rowGroups, into: qkvOut) }          // (rows, 3D)
        try op(.attention, headsOut, rows: rows, cols: d) { try attend(qkvOut, headsOut) }           // (rows, H·hd)
        op(.proj, out, rows: rows, cols: d) { proj.tokens(headsOut, rows: rows, groups: ws.rowGroups, into: out) }          // (rows, D)
    }

    /// Attention over the workspace's whole images (all T tokens on this rank).
    func local(batch n: Int, workspace ws: Workspace) -> (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void {
        { qkv, out in
            Attention.forward(qkv: qkv, batch: n, tokens: ws.tokens, heads: heads, headDim: headDim,
                              scratch: ws.attention.data, threads: min(Parallel.threads, ws.attentionThreads), into: out)
        }
    }
}
