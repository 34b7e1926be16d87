/// A point of the computation that can be recorded.
public enum DumpPoint: String, CaseIterable, Sendable {
    /// Sampler input x_t of the conditional images (stage 0, before the step).
    case x_t
    /// Tokens after x_embedder + pos_embed (stage 0).
    case embed
    /// Conditioning c = t_embedder(t) + y_embedder(y).
    case c
    /// A block's output tokens.
    case block
    /// Inside a block (`block_internals`): adaLN_modulation(c), the six
    /// modulation vectors (N, 6D) ...
    case adaLN
    /// ... attn(modulate(norm1(x))), the attention branch before its gate (N, T, D) ...
    case attn
    /// ... and mlp(modulate(norm2(x))), the MLP branch before its gate (N, T, D).
    case mlp
    /// Final layer output after unpatchify (last stage), before guidance.
    case final
    /// Model output after guidance, conditional rows (the sampler's input).
    case model_out
}

/// Where a micro-batch's rows come from, for a sink's attributes.
public struct RowInfo: Sendable {
    /// Global image index of each conditional row; -1 for padding rows.
    public let images: [Int]
    /// True when rows are [conditional; unconditional] (classifier-free guidance).
    public let doubled: Bool
    public let timestep: Int
    public init(images: [Int], doubled: Bool, timestep: Int) {
        self.images = images; self.doubled = doubled; self.timestep = timestep
    }
}

/// Receives activations as a run produces them. The HDF5 implementation
/// lives in Launcher; `MemoryDump` is its in-process twin.
public protocol ActivationSink: AnyObject {
    /// Cheap filter asked before any copy is made.
    func wants(_ point: DumpPoint, step: Int) -> Bool
    func record(_ point: DumpPoint, step: Int, microbatch: Int, block: Int?, rows: RowInfo,
                data: UnsafePointer<Float>, shape: [Int]) throws
    /// Called after the last update of each step on this rank (flush point).
    func endStep(_ step: Int) throws
    func close() throws
}
