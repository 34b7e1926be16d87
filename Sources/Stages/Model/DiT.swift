import Tensors

/// DiT (Peebles & Xie, 2023), or a consecutive slice of it: a pipeline stage
/// holds only its blocks, stage 0 also the embedders, the last stage the
/// final layer. The whole model is the slice with everything.
///
///   x = x_embedder(x) + pos_embed    (N, T, D)
///   c = t_embedder(t) + y_embedder(y) (N, D)
///   x = block(x, c) for each block
///   x = unpatchify(final_layer(x, c)) (N, out_channels, H, W)
public final class DiT {
    public let config: DiTConfig
    public let blockRange: Range<Int>
    let x_embedder: PatchEmbed?
    let pos_embed: Tensor?
    let t_embedder: TimestepEmbedder?
    let y_embedder: LabelEmbedder?
    let blocks: [DiTBlock]
    let final_layer: FinalLayer?

    /// Loads only what the slice needs from the checkpoint.
    public init(checkpoint: Checkpoint, blocks range: Range<Int>? = nil, embedders: Bool = true,
                finalLayer: Bool = true) throws {
        config = checkpoint.config
        blockRange = range ?? 0..<config.depth
        precondition(blockRange.lowerBound >= 0 && blockRange.upperBound <= config.depth)
        if embedders {
            x_embedder = try PatchEmbed(checkpoint)
            pos_embed = checkpoint.hasPosEmbed ? try checkpoint.tensor("pos_embed")
                : PosEmbed.sincos2D(dim: config.hiddenSize, gridSize: config.gridSize)
            t_embedder = try TimestepEmbedder(checkpoint)
            y_embedder = try LabelEmbedder(checkpoint)
        } else {
            (x_embedder, pos_embed, t_embedder, y_embedder) = (nil, nil, nil, nil)
        }
        blocks = try blockRange.map { try DiTBlock(checkpoint, index: $0) }
        final_layer = finalLayer ? try FinalLayer(checkpoint) : nil
    }

    public var hasEmbedders: Bool { x_embedder != nil }
    public var hasFinalLayer: Bool { final_layer != nil }

    /// Checks a batch against the model before any work: shape, labels, timesteps.
    public func validateInput(shape: [Int], t: [Float], y: [Int], name: String = "x") throws {
        let c = config
        guard shape.count == 4 else {
            throw DiTError("\(name) has shape \(shape.shapeDescription); expected (N, \(c.inChannels), \(c.inputSize), \(c.inputSize))")
        }
        guard shape[1] == c.inChannels else {
            throw DiTError("\(name) has \(shape[1]) channels (shape \(shape.shapeDescription)) but the model takes \(c.inChannels)")
        }
        guard shape[2] == c.inputSize, shape[3] == c.inputSize else {
            throw DiTError("\(name) is \(shape[2])×\(shape[3]) (shape \(shape.shapeDescription)) but the model takes \(c.inputSize)×\(c.inputSize) (pos_embed has \(c.tokens) patches of \(c.patchSize)×\(c.patchSize))")
        }
        guard t.count == shape[0], y.count == shape[0] else {
            throw DiTError("t has \(t.count) and y has \(y.count) entries but \(name) has \(shape[0]) rows; give one timestep and one label per row")
        }
        if let bad = t.firstIndex(where: { !($0 >= 0) || !$0.isFinite }) {
            throw DiTError("t[\(bad)] = \(t[bad]); timesteps must be finite and ≥ 0")
        }
        if let bad = y.firstIndex(where: { $0 < 0 || $0 > c.numClasses }) {
            throw DiTError("y[\(bad)] = \(y[bad]); labels must be from 0 to \(c.numClasses) (\(c.numClasses) is the null class)")
        }
    }

    /// Stage 0's work: tokens (N·T, D) and c (N, D) from x (N, C, H, W), t and y.
    public func embed(x: UnsafePointer<Float>, t: [Float], y: [Int], tokens: Tensor, c: Tensor, workspace ws: Workspace) {
        guard let x_embedder, let pos_embed, let t_embedder, let y_embedder else {
            preconditionFailure("embed called on a stage without the embedders")
        }
        let n = t.count, d = config.hiddenSize, size = config.inputSize
        ws.ops()(.embed, tokens.data, rows: n * config.tokens, cols: d) {
            x_embedder(x, batch: n, height: size, width: size, patches: ws.patches.data, groups: ws.rowGroups, into: tokens.data)   // (N·T, D)
            for i in 0..<n {
                Elementwise.add(tokens.data + i * config.tokens * d, pos_embed.pointer, count: config.tokens * d)
            }
            t_embedder(t, scratch: ws.timestep.data, groups: ws.rowGroups, into: c.data)                                        // (N, D)
            y_embedder(y, into: ws.labels.data)
            Elementwise.add(c.data, ws.labels.pointer, count: n * d)
        }
    }

    /// Runs this slice's blocks on tokens in place; `observe` sees each
    /// block's output (for activation dumps).
    public func runBlocks(tokens: Tensor, c: Tensor, batch n: Int, workspace ws: Workspace,
                          observe: ((_ block: Int, _ tokens: Tensor) -> Void)? = nil) {
        ws.prepare(c: c.pointer, batch: n, hidden: config.hiddenSize)
        for block in blocks {
            block(tokens, batch: n, workspace: ws)
            observe?(block.index, tokens)
        }
    }

    /// The last stage's work: final layer and unpatchify into out (N, C_out, H, W).
    public func finish(tokens: Tensor, c: Tensor, batch n: Int, workspace ws: Workspace, into out: UnsafeMutablePointer<Float>) {
        guard let final_layer else { preconditionFailure("finish called on a stage without the final layer") }
        ws.prepare(c: c.pointer, batch: n, hidden: config.hiddenSize)
        let patches = ws.outPatches.data, image = config.outChannels * config.inputSize * config.inputSize
        final_layer(tokens, batch: n, workspace: ws, into: patches)                     // (N·T, p·p·C_out)
        ws.ops()(.unpatchify, out, rows: n, cols: image) {                               // (N, C_out, H, W)
            Patch.unpatchify(patches, batch: n, channels: config.outChannels, gridHeight: config.gridSize,
                             gridWidth: config.gridSize, patch: config.patchSize, into: out)
        }
    }

    /// The whole forward pass, `DiT.forward(x, t, y)`, in batches of at most
    /// `workspace.maxBatch` rows.
    public func forward(x: Tensor, t: [Float], y: [Int], workspace: Workspace? = nil) throws -> Tensor {
        try validateInput(shape: x.shape, t: t, y: y)
        let c = config, n = x.shape[0]
        let ws = workspace ?? Workspace(config: c, maxBatch: min(n, 8))
        let out = Tensor(shape: [n, c.outChannels, c.inputSize, c.inputSize])
        let tokens = Tensor(shape: [ws.maxBatch * c.tokens, c.hiddenSize])
        let cond = Tensor(shape: [ws.maxBatch, c.hiddenSize])
        let inStride = c.inChannels * c.inputSize * c.inputSize, outStride = c.outChannels * c.inputSize * c.inputSize
        for start in stride(from: 0, to: n, by: ws.maxBatch) {
            let end = min(start + ws.maxBatch, n)
            embed(x: x.pointer + start * inStride, t: Array(t[start..<end]), y: Array(y[start..<end]),
                  tokens: tokens, c: cond, workspace: ws)
            runBlocks(tokens: tokens, c: cond, batch: end - start, workspace: ws)
            finish(tokens: tokens, c: cond, batch: end - start, workspace: ws, into: out.data + start * outStride)
        }
        return out
    }
}
