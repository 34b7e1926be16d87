import Tensors

/// The mid block's single-head self-attention over pixels (diffusers
/// Attention with `_from_deprecated_attn_block`, heads = 1):
///
///   h = group_norm(x).view(C, T).T            (T, C), T = h·w
///   h = to_out.0(softmax(q·kᵀ/√C)·v)           q, k, v = to_q(h), to_k(h), to_v(h)
///   out = x + h.T                              (C, h, w)
struct VAEAttention {
    let channels: Int
    let group_norm: GroupNormLayer
    /// to_q, to_k, to_v weights transposed side by side, (C, 3C), so one gemm
    /// gives the packed [q | k | v] rows `Attention.forward` reads.
    let qkvT: Tensor
    let qkvBias: Tensor
    /// to_out.0 weight transposed, (C, C).
    let outT: Tensor
    let outBias: Tensor

    init(_ weights: VAEWeights, _ prefix: String) throws {
        group_norm = try GroupNormLayer(weights, prefix + ".group_norm")
        let c = group_norm.channels
        channels = c
        qkvT = Tensor(shape: [c, 3 * c])
        qkvBias = Tensor(shape: [3 * c])
        // Copies go through arrays: a Tensor's pointer is valid only while the Tensor lives.
        for (part, name) in ["to_q", "to_k", "to_v"].enumerated() {
            let w = try weights.tensor("\(prefix).\(name).weight").array
            for i in 0..<c { for o in 0..<c { qkvT[i * 3 * c + part * c + o] = w[o * c + i] } }
            let b = try weights.tensor("\(prefix).\(name).bias").array
            for o in 0..<c { qkvBias[part * c + o] = b[o] }
        }
        let w = try weights.tensor(prefix + ".to_out.0.weight").array
        outT = Tensor(shape: [c, c])
        for i in 0..<c { for o in 0..<c { outT[i * c + o] = w[o * c + i] } }
        outBias = try weights.tensor(prefix + ".to_out.0.bias")
    }

    /// ws.x (C, h, w) → ws.x, in place.
    func callAsFunction(height: Int, width: Int, workspace ws: VAEWorkspace) {
        let c = channels, tokens = height * width
        group_norm(ws.x, spatial: tokens, silu: false, into: ws.t1)
        Gemm.transpose(ws.t1, rows: c, cols: tokens, into: ws.t2)                  // (T, C)
        let qkv = ws.attentionQKV(tokens * 3 * c)
        Gemm.linear(ws.t2, rows: tokens, inFeatures: c, weightT: qkvT.pointer, bias: qkvBias.pointer,
                    outFeatures: 3 * c, into: qkv)                                  // (T, 3C)
        Attention.forward(qkv: qkv, batch: 1, tokens: tokens, heads: 1, headDim: c,
                          scores: ws.attentionScores(tokens * tokens), into: ws.t1)  // (T, C)
        Gemm.linear(ws.t1, rows: tokens, inFeatures: c, weightT: outT.pointer, bias: outBias.pointer,
                    outFeatures: c, into: ws.t2)
        Gemm.transpose(ws.t2, rows: tokens, cols: c, into: ws.t1)                  // (C, T)
        Elementwise.add(ws.x, ws.t1, count: c * tokens)
    }
}
