import Foundation
import Tensors

/// The compute of one rank's slice of the model, on its rows and tokens.
/// `DiTWork` runs the model; `SleepWork` (for `--simulate`) sleeps what the
/// blocks would take.
public protocol StageWork: AnyObject {
    /// Stage 0: tokens and c from x_t (rows, C, H, W), timesteps and labels.
    func embed(x: UnsafePointer<Float>, t: [Float], y: [Int], tokens: Tensor, c: Tensor)
    /// The slice's blocks in place; `between(block, tokens)` runs after each
    /// (message progress, activation dumps).
    func blocks(tokens: Tensor, c: Tensor, rows: Int, step: Int, microbatch: Int,
                between: (Int, Tensor) throws -> Void) throws
    /// Last stage: final-layer rows (rows·T/P, p·p·C_out).
    func finalRows(tokens: Tensor, c: Tensor, rows: Int, into: UnsafeMutablePointer<Float>)
    /// Hears the model's ops (a dump's block internals); nil: nothing listens.
    var observer: ForwardObserver? { get set }
}

/// The model slice, with Ulysses attention when the stage is split by tokens.
public final class DiTWork: StageWork {
    let model: DiT
    let ws: Workspace
    let ulysses: UlyssesAttention?
    let part: Int, parts: Int

    public init(model: DiT, plan: SamplingPlan, part: Int, ulysses: UlyssesAttention?) {
        self.model = model
        self.ulysses = ulysses
        (self.part, parts) = (part, plan.run.sequenceParallel)
        ws = Workspace(config: plan.model, maxBatch: plan.rowsPerRank, sequenceParallel: parts)
        ws.rowGroups = plan.rowGroups
    }

    public var observer: ForwardObserver? {
        get { ws.observer }
        set { ws.observer = newValue }
    }

    public func embed(x: UnsafePointer<Float>, t: [Float], y: [Int], tokens: Tensor, c: Tensor) {
        model.embed(x: x, t: t, y: y, tokens: tokens, c: c, workspace: ws, part: part, parts: parts)
    }

    public func blocks(tokens: Tensor, c: Tensor, rows: Int, step: Int, microbatch: Int,
                       between: (Int, Tensor) throws -> Void) throws {
        ulysses?.step = step
        ulysses?.microbatch = microbatch
        try model.runBlocks(tokens: tokens, c: c, batch: rows, workspace: ws, ulysses: ulysses, observe: between)
    }

    public func finalRows(tokens: Tensor, c: Tensor, rows: Int, into out: UnsafeMutablePointer<Float>) {
        model.finalRows(tokens: tokens, c: c, batch: rows, workspace: ws, into: out)
    }
}

/// `--simulate`: each block is a sleep of `blockSeconds`, in 2 ms slices
/// with message progress between, so message latency stays far below a
/// block and does not skew the study; shorter slices only add wake-ups when
/// 28 ranks share 2 cores. Under Ulysses a rank computes 1/P of a block.
public final class SleepWork: StageWork {
    let seconds: Double
    let transport: Transport?
    /// Never told anything: a sleep has no ops.
    public var observer: ForwardObserver?

    public init(blockSeconds: Double, blocks: Int, sequenceParallel: Int, transport: Transport?) {
        seconds = blockSeconds * Double(blocks) / Double(sequenceParallel)
        self.transport = transport
    }

    public func embed(x: UnsafePointer<Float>, t: [Float], y: [Int], tokens: Tensor, c: Tensor) {}

    public func blocks(tokens: Tensor, c: Tensor, rows: Int, step: Int, microbatch: Int,
                       between: (Int, Tensor) throws -> Void) throws {
        let end = Date().addingTimeInterval(seconds)
        while case let left = end.timeIntervalSinceNow, left > 0 {
            usleep(UInt32(min(left, 2e-3) * 1e6))
            try transport?.progress()
        }
    }

    public func finalRows(tokens: Tensor, c: Tensor, rows: Int, into: UnsafeMutablePointer<Float>) {}
}

extension SamplingPlan {
    /// The work of the rank at `p`: its model slice (with Ulysses attention
    /// over its sequence group when sequence_parallel > 1), or, without a
    /// model, `--simulate`'s sleep.
    public func work(model: DiT?, position p: Layout.Position, transport: Transport?,
                     simulatedBlockSeconds: Double = 0) -> StageWork {
        guard let model else {
            return SleepWork(blockSeconds: simulatedBlockSeconds, blocks: partition.ranges[p.stage].count,
                             sequenceParallel: run.sequenceParallel, transport: transport)
        }
        let ulysses = run.sequenceParallel > 1
            ? UlyssesAttention(transport: transport!, group: layout.sequenceGroup(of: p), part: p.part, stage: p.stage,
                               config: self.model, maxBatch: rowsPerRank)
            : nil
        return DiTWork(model: model, plan: self, part: p.part, ulysses: ulysses)
    }
}
