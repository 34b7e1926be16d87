/// The ops of the forward pass, in table order: what a `ForwardObserver`
/// hears about, and the rows of `dit profile`.
public enum ForwardOp: Int, CaseIterable, Sendable {
    case embed, adaLN, norm, qkv, attention, proj, residual, fc1, gelu, fc2, finalLinear, unpatchify

    public var name: String {
        switch self {
        case .embed: return "embedding (patch, t, y)"
        case .adaLN: return "GEMM adaLN_modulation"
        case .norm: return "LayerNorm + modulate"
        case .qkv: return "GEMM attn.qkv"
        case .attention: return "attention (QKᵀ, softmax, PV)"
        case .proj: return "GEMM attn.proj"
        case .residual: return "gated residual"
        case .fc1: return "GEMM mlp.fc1"
        case .gelu: return "GELU (tanh)"
        case .fc2: return "GEMM mlp.fc2"
        case .finalLinear: return "GEMM final_layer.linear"
        case .unpatchify: return "unpatchify"
        }
    }
}

/// Hears each op of the forward pass begin and end, with the op's output:
/// `Profiler` times the ops, a dump's block recorder keeps a block's adaLN
/// modulation, attention and MLP outputs. Set on the `Workspace`; without
/// one (the default) an op costs one branch more.
public protocol ForwardObserver: AnyObject {
    /// `op` of block `block` (nil outside the blocks) is about to run.
    func willRun(_ op: ForwardOp, block: Int?)
    /// It ran and wrote `output`, a rows × cols matrix (rows: images for
    /// adaLN, image tokens for the token-wise ops).
    func didRun(_ op: ForwardOp, block: Int?, output: UnsafePointer<Float>, rows: Int, cols: Int)
}

/// The ops of one layer (a block, the final layer, the embedders), each run
/// through `callAsFunction` so that the workspace's observer hears it.
struct Ops {
    let observer: ForwardObserver?
    let block: Int?

    /// Runs `body`, which writes `op`'s output (rows × cols at `output`).
    @inline(__always)
    func callAsFunction(_ op: ForwardOp, _ output: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                        _ body: () throws -> Void) rethrows {
        guard let observer else { return try body() }
        observer.willRun(op, block: block)
        try body()
        observer.didRun(op, block: block, output: output, rows: rows, cols: cols)
    }
}
