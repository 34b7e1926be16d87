/// Records the points inside each block (`block_internals`) as the block's
/// ops report them to the workspace's observer: adaLN_modulation's output
/// is `adaLN`, attn.proj's `attn`, mlp.fc2's `mlp`. The runner sets the
/// micro-batch before each forward and rethrows a failed record after it.
final class BlockRecorder: ForwardObserver {
    let sink: ActivationSink
    /// Rows of this rank's micro-batch and tokens of each.
    let rows: Int, tokens: Int
    var step = 0, microbatch = 0
    var info = RowInfo(images: [], doubled: false, timestep: 0)
    private var failure: Error?

    init(sink: ActivationSink, rows: Int, tokens: Int) {
        (self.sink, self.rows, self.tokens) = (sink, rows, tokens)
    }

    /// The point an op's output is, inside a block.
    static func point(_ op: ForwardOp) -> DumpPoint? {
        switch op {
        case .adaLN: return .adaLN
        case .proj: return .attn
        case .fc2: return .mlp
        default: return nil
        }
    }

    func willRun(_ op: ForwardOp, block: Int?) {}

    func didRun(_ op: ForwardOp, block: Int?, output: UnsafePointer<Float>, rows r: Int, cols: Int) {
        guard let block, failure == nil, let point = Self.point(op), sink.wants(point, step: step) else { return }
        let shape = point == .adaLN ? [rows, cols] : [rows, tokens, cols]
        precondition(shape.reduce(1, *) == r * cols, "\(point) of block \(block): \(r)×\(cols) floats is not \(shape)")
        do {
            try sink.record(point, step: step, microbatch: microbatch, block: block, rows: info, data: output, shape: shape)
        } catch {
            failure = error
        }
    }

    /// Throws the first failed record since the last call.
    func check() throws {
        if let failure { self.failure = nil; throw failure }
    }
}
