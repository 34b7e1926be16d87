import Tensors

/// The forward pass on a shard of the tokens (Ulysses sequence parallelism):
/// every token-wise layer — x_embedder, pos_embed, the blocks' linears and
/// norms, the final layer — runs on this rank's T/P tokens of each image;
/// only attention sees all tokens, through `attend`. c (t and y embedders)
/// is per image, cheap (two small MLPs), and computed on every rank rather
/// than sent.
extension DiT {
    /// tokens (N·T/P, D): part `part` of `parts` of each image's tokens, and c (N, D).
    public func embed(x: UnsafePointer<Float>, t: [Float], y: [Int], tokens: Tensor, c: Tensor, workspace ws: Workspace,
                      part: Int, parts: Int) {
        guard parts > 1 else { return embed(x: x, t: t, y: y, tokens: tokens, c: c, workspace: ws) }
        guard let x_embedder, let pos_embed, let t_embedder, let y_embedder else {
            preconditionFailure("embed called on a stage without the embedders")
        }
        let n = t.count, d = config.hiddenSize, size = config.inputSize, all = config.tokens, tl = all / parts
        let k = config.inChannels * config.patchSize * config.patchSize
        ws.ops()(.embed, tokens.data, rows: n * tl, cols: d) {
            Patch.patchify(x, batch: n, channels: config.inChannels, height: size, width: size, patch: config.patchSize,
                           into: ws.patches.data)                                     // (N·T, C·p·p)
            let mine = ws.patches.data + n * all * k
            for i in 0..<n { (mine + i * tl * k).update(from: ws.patches.pointer + (i * all + part * tl) * k, count: tl * k) }
            x_embedder.proj.tokens(mine, rows: n * tl, groups: ws.rowGroups, into: tokens.data)                    // (N·T/P, D)
            for i in 0..<n {
                Elementwise.add(tokens.data + i * tl * d, pos_embed.pointer + part * tl * d, count: tl * d)
            }
            t_embedder(t, scratch: ws.timestep.data, groups: ws.rowGroups, into: c.data)                         // (N, D)
            y_embedder(y, into: ws.labels.data)
            Elementwise.add(c.data, ws.labels.pointer, count: n * d)
        }
    }

    /// This slice's blocks on this rank's tokens in place, attention local or
    /// through `ulysses`; `observe` sees each block's output.
    public func runBlocks(tokens: Tensor, c: Tensor, batch n: Int, workspace ws: Workspace, ulysses: UlyssesAttention?,
                          observe: (_ block: Int, _ tokens: Tensor) throws -> Void) throws {
        ws.prepare(c: c.pointer, batch: n, hidden: config.hiddenSize)
        for block in blocks {
            if let ulysses {
                try block.forward(tokens, batch: n, workspace: ws) {
                    try ulysses(qkv: $0, batch: n, block: block.index, workspace: ws, into: $1)
                }
            } else {
                block(tokens, batch: n, workspace: ws)
            }
            try observe(block.index, tokens)
        }
    }

    /// The final layer on this rank's tokens: out (N·T/P, p·p·C_out), before unpatchify.
    public func finalRows(tokens: Tensor, c: Tensor, batch n: Int, workspace ws: Workspace, into out: UnsafeMutablePointer<Float>) {
        guard let final_layer else { preconditionFailure("finalRows called on a stage without the final layer") }
        ws.prepare(c: c.pointer, batch: n, hidden: config.hiddenSize)
        final_layer(tokens, batch: n, workspace: ws, into: out)
    }
}
