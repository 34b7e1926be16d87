import Tensors

/// Run-state buffers for up to `maxBatch` images, allocated once and reused
/// by every block of every step (llama2.c's RunState).
public final class Workspace {
    public let maxBatch: Int
    /// Tokens of each image this rank holds: all T, or T/P under Ulysses.
    let tokens: Int
    /// Tokens attention sees: T.
    let sequenceTokens: Int
    /// modulate(norm(x), shift, scale), the input of attn, mlp and
    /// final_layer.linear (rows × D).
    let normed: Tensor
    /// attn.qkv's output (rows × 3D).
    let qkv: Tensor
    /// Attention's output, the heads side by side, before attn.proj (rows × D).
    let heads: Tensor
    /// mlp.fc1's output, GELU in place (rows × mlp hidden).
    let hidden: Tensor
    /// attn(·) or mlp(·), the branch a gate scales into the residual (rows × D).
    let branch: Tensor
    /// adaLN_modulation's output: a block's six (N, 6D), the final layer's two (N, 2D).
    let modulation: Tensor
    /// silu(c), (N, D).
    let siluC: Tensor
    /// y_embedder's output, added to t_embedder's into c (N, D).
    let labels: Tensor
    /// final_layer's output, one patch per token, before unpatchify (rows × p·p·C_out).
    let outPatches: Tensor
    /// Per attention thread: one head's packed q, kᵀ, v, scores and output.
    let attention: Tensor
    let attentionThreads: Int
    /// patchify output and timestep-embedding scratch.
    let patches: Tensor
    let timestep: Tensor
    /// Hears every op of the forward pass (the profiler, a dump); nil: nothing listens.
    public var observer: ForwardObserver?
    /// The batch as this many equal groups of images that every linear layer
    /// multiplies in separate GEMM calls: 2 when it is a [conditional; null]
    /// pair on one rank, so each half comes out bitwise as on a CFG-parallel
    /// rank that holds only that half (`Linear.tokens(…, groups:)`); else 1.
    public var rowGroups = 1

    /// Buffers for `maxBatch` images of which this rank holds
    /// tokens/`sequenceParallel` tokens each.
    public init(config c: DiTConfig, maxBatch: Int, sequenceParallel: Int = 1) {
        self.maxBatch = maxBatch
        tokens = c.tokens / sequenceParallel
        sequenceTokens = c.tokens
        let rows = maxBatch * tokens, d = c.hiddenSize
        normed = Tensor(shape: [rows, d])
        qkv = Tensor(shape: [rows, 3 * d])
        heads = Tensor(shape: [rows, d])
        hidden = Tensor(shape: [rows, c.mlpHidden])
        branch = Tensor(shape: [rows, d])
        modulation = Tensor(shape: [maxBatch, 6 * d])
        siluC = Tensor(shape: [maxBatch, d])
        labels = Tensor(shape: [maxBatch, d])
        outPatches = Tensor(shape: [rows, c.patchSize * c.patchSize * c.outChannels])
        attentionThreads = Parallel.threads
        attention = Tensor(shape: [attentionThreads, Attention.scratchCount(tokens: c.tokens, headDim: c.headDim)])
        // Patchify sees whole images; under Ulysses this rank's rows are gathered behind them.
        patches = Tensor(shape: [maxBatch * c.tokens + (sequenceParallel > 1 ? rows : 0), c.inChannels * c.patchSize * c.patchSize])
        timestep = Tensor(shape: [maxBatch, DiTConfig.frequencyEmbeddingSize + d])
    }

    /// silu(c) for the batch, which every block's and the final layer's
    /// adaLN_modulation starts with.
    func prepare(c: UnsafePointer<Float>, batch: Int, hidden: Int) {
        precondition(batch <= maxBatch, "batch \(batch) exceeds the workspace's \(maxBatch)")
        Activation.silu(c, count: batch * hidden, into: siluC.data)
    }

    /// The ops of block `block` (nil: outside the blocks), told to the observer.
    func ops(block: Int? = nil) -> Ops { Ops(observer: observer, block: block) }
}
