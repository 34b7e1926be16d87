import ArgumentParser
import Foundation
import Stages

/// `dit plan`: the partition, the schedule's rank × time grid and its
/// predicted bubble, checked — no MPI, no weights.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Print and check the partition and pipeline schedule of an experiment.")

    @Argument(help: "YAML experiment file.") var config: String
    @Option(help: "Override the stage count.") var stages: Int?
    @Option(help: "Override cfg_parallel (1 or 2).") var cfgParallel: Int?
    @Option(help: "Override sequence_parallel.") var sequenceParallel: Int?
    @Option(help: "Time slots to print.") var columns: Int = 24
    @Flag(help: "Print only the number of ranks the experiment needs (replicas × cfg_parallel × sequence_parallel × stages).") var worldSize = false
    @Flag(help: "Print only the BLAS threads per rank (default 1).") var threads = false
    @Option(help: "Link bandwidth in GB/s for the predicted message cost.") var bandwidth: Double = 5
    @Option(help: "Per-message latency in microseconds for the predicted message cost.") var latency: Double = 5

    func run() throws {
        var run = try RunConfig.load(path: config)
        if let stages { run.stages = stages }
        if let cfgParallel { run.cfgParallel = cfgParallel }
        if let sequenceParallel { run.sequenceParallel = sequenceParallel }
        if worldSize { print(run.worldSize); return }
        if threads { print(run.threads ?? 1); return }
        let model = try modelConfig(run)
        let plan = try SamplingPlan(run: run, model: model)
        print("model: depth \(model.depth), hidden \(model.hiddenSize), \(model.tokens) tokens; \(plan.steps) steps, \(run.classes.count) images, micro-batches of \(plan.microbatchSize) (\(plan.rowsPerMicrobatch) rows)")
        print("partition: \(plan.partition)")
        printLayout(plan)
        print(plan.timestepsLine)
        if let note = run.respacingNote { print("note: \(note)") }
        for r in 0..<plan.replicas {
            let schedule = plan.schedule(replica: r)
            try schedule.check()
            let spans = try schedule.simulate(cost: { _ in 1 })
            print("replica \(r): images \(plan.images(replica: r)), \(schedule.microbatches) micro-batches; schedule checked (matched, deadlock-free)")
            print(String(format: "predicted bubble (S−1)/(T·M+S−1) = %.2f %%; simulated with equal stages %.2f %%",
                         100 * schedule.predictedBubble, 100 * Schedule.bubble(of: spans, stages: plan.stages)))
            print(try schedule.grid(maxColumns: columns))
        }
    }

    /// Which ranks form each group, and the messages of one step per kind.
    func printLayout(_ plan: SamplingPlan) {
        let l = plan.layout
        print("layout: \(l); rank = ((replica·stages + stage)·cfg + branch)·sp + part (sequence parts innermost)")
        for r in 0..<l.replicas {
            for s in 0..<l.stages {
                let groups = (0..<l.cfg).map { b in
                    let ranks = (0..<l.sp).map { l.rank(.init(replica: r, stage: s, branch: b, part: $0)) }
                    return (l.cfg > 1 ? (b == 0 ? "cond " : "null ") : "") + "[" + ranks.map(String.init).joined(separator: " ") + "]"
                }
                print("  replica \(r) stage \(s): \(groups.joined(separator: " "))" + (s == 0 ? "  sampler rank \(plan.samplerRank(replica: r))" : ""))
            }
        }
        let sizes = MessageSizes(plan: plan)
        guard !sizes.lines.isEmpty else { print("messages: none (one rank per replica)"); return }
        print(String(format: "messages per step and micro-batch (predicted at %.1f GB/s, %.0f µs each):", bandwidth, latency))
        var total = 0.0
        for line in sizes.lines {
            let each = MessageSizes.cost(bytes: line.bytes, latency: latency * 1e-6, bandwidth: bandwidth * 1e9)
            total += each * Double(line.count)
            let kind = "\(line.kind)".padding(toLength: 12, withPad: " ", startingAt: 0)
            print(String(format: "  %@ %10d bytes × %5d = %8.2f MB  %8.3f ms each  (%@)", kind as NSString,
                         line.bytes, line.count, Double(line.bytes * line.count) / 1e6, each * 1e3, line.note as NSString))
        }
        print(String(format: "  sum of message times %.2f ms per step and micro-batch (spread over the links that carry them)", total * 1e3))
    }

    /// The checkpoint's architecture, or the `model` preset (DiT-XL/2) when
    /// the checkpoint file is not at hand — enough to plan.
    func modelConfig(_ run: RunConfig) throws -> DiTConfig {
        if FileManager.default.fileExists(atPath: run.checkpoint) || run.model == nil {
            return try Checkpoint(path: run.checkpoint, numHeads: run.numHeads).config
        }
        return try run.presetModel()
    }
}
