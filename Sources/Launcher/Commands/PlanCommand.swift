import ArgumentParser
import Foundation
import Stages

/// `dit plan`: the partition, the schedule's rank × time grid and its
/// predicted bubble, checked — no MPI, no weights.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Print and check the partition and pipeline schedule of an experiment.",
        discussion: """
            Needs no MPI and no weights (the model: preset stands in when the checkpoint is absent).

            Example: dit plan experiments/dit-xl2-4stages.yaml --stages 2 --json
            """)

    @Argument(help: "YAML experiment file.") var config: String
    @Option(help: "Pipeline stages (default: the file's stages).") var stages: Int?
    @Option(help: "Data-parallel replicas (default: the file's replicas).") var replicas: Int?
    @Option(help: "cfg_parallel, 1 or 2 (default: the file's).") var cfgParallel: Int?
    @Option(help: "sequence_parallel (default: the file's).") var sequenceParallel: Int?
    @Option(help: "Images per micro-batch (default: the file's microbatch_size).") var microbatchSize: Int?
    @Option(help: "BLAS threads per rank (default: the file's threads, else 1).") var threads: Int?
    @Option(help: "Time slots to print.") var columns: Int = 24
    @Flag(help: "Print only the number of ranks the experiment needs (replicas × cfg_parallel × sequence_parallel × stages).") var worldSize = false
    @Flag(help: "Print only the BLAS threads per rank.") var printThreads = false
    @Flag(help: "Print the plan as one JSON object (docs/formats.md).") var json = false
    @Option(help: "Link bandwidth in GB/s for the predicted message cost.") var bandwidth: Double = 5
    @Option(help: "Per-message latency in microseconds for the predicted message cost.") var latency: Double = 5

    func run() throws {
        var run = try RunConfig.load(path: config)
        if let stages { run.stages = stages }
        if let replicas { run.replicas = replicas }
        if let cfgParallel { run.cfgParallel = cfgParallel }
        if let sequenceParallel { run.sequenceParallel = sequenceParallel }
        if let microbatchSize { run.microbatchSize = microbatchSize }
        if let threads { run.threads = threads }
        if worldSize { print(run.worldSize); return }
        if printThreads { print(run.threads ?? 1); return }
        let model = try modelConfig(run)
        let plan = try SamplingPlan(run: run, model: model)
        var replicaRows: [[String: Any]] = []
        var text: [String] = []
        for r in 0..<plan.replicas {
            let schedule = plan.schedule(replica: r)
            try schedule.check()
            let spans = try schedule.simulate(cost: { _ in 1 })
            let images = plan.images(replica: r), simulated = Schedule.bubble(of: spans, stages: plan.stages)
            text.append("replica \(r): images \(images.isEmpty ? "none" : "\(images.lowerBound) to \(images.upperBound - 1)"), "
                        + "\(plural(schedule.microbatches, "micro-batch", "micro-batches")); schedule checked (matched, deadlock-free)")
            text.append(String(format: "predicted bubble (S−1)/(T·M+S−1) = %.2f %%; simulated with equal stages %.2f %%",
                               100 * schedule.predictedBubble, 100 * simulated))
            text.append(try schedule.grid(maxColumns: columns))
            replicaRows.append(["replica": r, "first_image": images.lowerBound, "images": images.count,
                                "microbatches": schedule.microbatches, "predicted_bubble": schedule.predictedBubble,
                                "simulated_bubble": simulated])
        }
        guard json else {
            print("model: depth \(model.depth), hidden \(model.hiddenSize), \(plural(model.tokens, "token")); \(plural(plan.steps, "step")), "
                  + "\(plural(run.classes.count, "image")), micro-batches of \(plan.microbatchSize) (\(plural(plan.rowsPerMicrobatch, "row")))")
            print("partition: \(plan.partition)")
            printLayout(plan)
            print(plan.timestepsLine)
            if let note = run.respacingNote { print("note: \(note)") }
            print(text.joined(separator: "\n"))
            return
        }
        let out: [String: Any] = [
            "depth": model.depth, "hidden_size": model.hiddenSize, "tokens": model.tokens, "steps": plan.steps,
            "images": run.classes.count, "microbatch_size": plan.microbatchSize, "rows_per_microbatch": plan.rowsPerMicrobatch,
            "stages": plan.stages, "replicas": plan.replicas, "cfg_parallel": run.cfgParallel,
            "sequence_parallel": run.sequenceParallel, "world_size": run.worldSize, "timesteps": plan.timesteps, "threads": run.threads ?? 1,
            "blocks_per_stage": plan.partition.ranges.map { [$0.lowerBound, $0.upperBound - 1] }, "replica_plans": replicaRows,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
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
