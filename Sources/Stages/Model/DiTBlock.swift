import Tensors

/// A DiT block with adaLN-Zero conditioning (DiT paper, Fig. 3):
///   shift/scale/gate ← adaLN_modulation(c)
///   x ← x + gate_msa · attn(modulate(norm1(x), shift_msa, scale_msa))
///   x ← x + gate_mlp · mlp(modulate(norm2(x), shift_mlp, scale_mlp))
public struct DiTBlock {
    public let index: Int
    let qkv: Linear, proj: Linear          // attn.qkv, attn.proj
    let fc1: Linear, fc2: Linear           // mlp.fc1, mlp.fc2
    let adaLN_modulation: Linear           // adaLN_modulation.1 (after SiLU)
    public let heads: Int

    public init(_ checkpoint: Checkpoint, index: Int) throws {
        let p = "blocks.\(index)."
        self.index = index
        qkv = try Linear(checkpoint, p + "attn.qkv")
        proj = try Linear(checkpoint, p + "attn.proj")
        fc1 = try Linear(checkpoint, p + "mlp.fc1")
        fc2 = try Linear(checkpoint, p + "mlp.fc2")
        adaLN_modulation = try Linear(checkpoint, p + "adaLN_modulation.1")
        heads = checkpoint.config.numHeads
    }

    /// x: (N·T, D) in place; the workspace must hold silu(c) for the batch.
    public func callAsFunction(_ x: Tensor, batch n: Int, workspace ws: Workspace) {
        forward(x, batch: n, workspace: ws) { qkv, out in
            Attention.forward(qkv: qkv, batch: n, tokens: ws.tokens, heads: heads, headDim: headDim,
                              scratch: ws.attention.data, threads: min(Parallel.threads, ws.attentionThreads), into: out)
        }
    }

    public var headDim: Int { qkv.inFeatures / heads }

    /// The block with attention supplied by `attend(qkv (N·T, 3D), into: (N·T, D))`:
    /// local attention, or Ulysses' all-to-all around it, where x holds only
    /// this rank's tokens of each image.
    public func forward(_ x: Tensor, batch n: Int, workspace ws: Workspace,
                        attend: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) throws -> Void) rethrows {
        let d = qkv.inFeatures, t = ws.tokens, rows = n * t, m = fc1.outFeatures
        let mod = ws.modulation.data, stride = 6 * d
        Profiler.start()
        adaLN_modulation(ws.siluC.pointer, rows: n, into: mod)              // (N, 6D)
        Profiler.lap(.adaLN)
        let (shiftMSA, scaleMSA, gateMSA) = (mod, mod + d, mod + 2 * d)
        let (shiftMLP, scaleMLP, gateMLP) = (mod + 3 * d, mod + 4 * d, mod + 5 * d)
        let eps = DiTConfig.layerNormEps

        Norm.layerNormModulate(x.pointer, rows: rows, cols: d, eps: eps, groupRows: t,
                               shift: shiftMSA, scale: scaleMSA, groupStride: stride, into: ws.h.data)
        Profiler.lap(.norm)
        qkv.tokens(ws.h.pointer, rows: rows, into: ws.qkv.data)                      // (N·T, 3D)
        Profiler.lap(.qkv)
        try attend(ws.qkv.pointer, ws.attn.data)                              // (N·T, D)
        Profiler.lap(.attention)
        proj.tokens(ws.attn.pointer, rows: rows, into: ws.h.data)
        Profiler.lap(.proj)
        Elementwise.addGated(x.data, ws.h.pointer, rows: rows, cols: d, gate: gateMSA, groupRows: t, groupStride: stride)
        Profiler.lap(.residual)

        Norm.layerNormModulate(x.pointer, rows: rows, cols: d, eps: eps, groupRows: t,
                               shift: shiftMLP, scale: scaleMLP, groupStride: stride, into: ws.h.data)
        Profiler.lap(.norm)
        fc1.tokens(ws.h.pointer, rows: rows, into: ws.mlp.data)                       // (N·T, M)
        Profiler.lap(.fc1)
        Activation.geluTanh(ws.mlp.data, count: rows * m)
        Profiler.lap(.gelu)
        fc2.tokens(ws.mlp.pointer, rows: rows, into: ws.h.data)
        Profiler.lap(.fc2)
        Elementwise.addGated(x.data, ws.h.pointer, rows: rows, cols: d, gate: gateMLP, groupRows: t, groupStride: stride)
        Profiler.lap(.residual)
    }
}
