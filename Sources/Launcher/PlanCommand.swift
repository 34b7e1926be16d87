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
    @Option(help: "Images per micro-batch (default: the file's microbatch_size).") var microbatchSize: Int?
    @Option(help: "BLAS threads per rank (default: the file's threads, else 1).") var threads: Int?
    @Option(help: "Time slots to print.") var columns: Int = 24
    @Flag(help: "Print only the number of ranks the experiment needs (stages × replicas).") var worldSize = false
    @Flag(help: "Print only the BLAS threads per rank.") var printThreads = false
    @Flag(help: "Print the plan as one JSON object (docs/formats.md).") var json = false

    func run() throws {
        var run = try RunConfig.load(path: config)
        if let stages { run.stages = stages }
        if let replicas { run.replicas = replicas }
        if let microbatchSize { run.microbatchSize = microbatchSize }
        if let threads { run.threads = threads }
        if worldSize { print(run.stages * run.replicas); return }
        if printThreads { print(run.threads ?? 1); return }
        let model = try modelConfig(run)
        let plan = try SamplingPlan(run: run, model: model)
        var replicaRows: [[String: Any]] = []
        var text: [String] = [
            "model: depth \(model.depth), hidden \(model.hiddenSize), \(plural(model.tokens, "token")); \(plural(plan.steps, "step")), "
                + "\(plural(run.classes.count, "image")), micro-batches of \(plan.microbatchSize) (\(plural(plan.rowsPerMicrobatch, "row")))",
            "partition: \(plan.partition)",
        ]
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
        guard json else { print(text.joined(separator: "\n")); return }
        let out: [String: Any] = [
            "depth": model.depth, "hidden_size": model.hiddenSize, "tokens": model.tokens, "steps": plan.steps,
            "images": run.classes.count, "microbatch_size": plan.microbatchSize, "rows_per_microbatch": plan.rowsPerMicrobatch,
            "stages": plan.stages, "replicas": plan.replicas, "world_size": plan.stages * plan.replicas, "threads": run.threads ?? 1,
            "blocks_per_stage": plan.partition.ranges.map { [$0.lowerBound, $0.upperBound - 1] }, "replica_plans": replicaRows,
        ]
        print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
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
