import Tensors

/// Run-state buffers for up to `maxBatch` images, allocated once and reused
/// by every block of every step (llama2.c's RunState).
public final class Workspace {
    public let maxBatch: Int
    /// Tokens of each image this rank holds: all T, or T/P under Ulysses.
    let tokens: Int
    /// Tokens attention sees: T.
    let sequenceTokens: Int
    /// norm + modulate output, then the attention output (rows × D).
    let h: Tensor
    let qkv: Tensor
    let attn: Tensor
    let mlp: Tensor
    /// adaLN modulation vectors, (N, 6D).
    let modulation: Tensor
    /// silu(c), (N, D).
    let siluC: Tensor
    /// Per attention thread: one head's packed q, kᵀ, v, scores and output.
    let attention: Tensor
    let attentionThreads: Int
    /// patchify output and timestep-embedding scratch.
    let patches: Tensor
    let timestep: Tensor

    /// Buffers for `maxBatch` images of which this rank holds
    /// tokens/`sequenceParallel` tokens each.
    public init(config c: DiTConfig, maxBatch: Int, sequenceParallel: Int = 1) {
        self.maxBatch = maxBatch
        tokens = c.tokens / sequenceParallel
        sequenceTokens = c.tokens
        let rows = maxBatch * tokens, d = c.hiddenSize
        h = Tensor(shape: [rows, d])
        qkv = Tensor(shape: [rows, 3 * d])
        attn = Tensor(shape: [rows, d])
        mlp = Tensor(shape: [rows, max(c.mlpHidden, c.patchSize * c.patchSize * c.outChannels)])
        modulation = Tensor(shape: [maxBatch, 6 * d])
        siluC = Tensor(shape: [maxBatch, d])
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
}
