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
    @Option(help: "Time slots to print.") var columns: Int = 24
    @Flag(help: "Print only the number of ranks the experiment needs (stages × replicas).") var worldSize = false
    @Flag(help: "Print only the BLAS threads per rank (default 1).") var threads = false

    func run() throws {
        var run = try RunConfig.load(path: config)
        if let stages { run.stages = stages }
        if worldSize { print(run.stages * run.replicas); return }
        if threads { print(run.threads ?? 1); return }
        let model = try modelConfig(run)
        let plan = try SamplingPlan(run: run, model: model)
        print("model: depth \(model.depth), hidden \(model.hiddenSize), \(model.tokens) tokens; \(plan.steps) steps, \(run.classes.count) images, micro-batches of \(plan.microbatchSize) (\(plan.rowsPerMicrobatch) rows)")
        print("partition: \(plan.partition)")
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

    /// The checkpoint's architecture, or the `model` preset (DiT-XL/2) when
    /// the checkpoint file is not at hand — enough to plan.
    func modelConfig(_ run: RunConfig) throws -> DiTConfig {
        if FileManager.default.fileExists(atPath: run.checkpoint) || run.model == nil {
            return try Checkpoint(path: run.checkpoint, numHeads: run.numHeads).config
        }
        return try run.presetModel()
    }
}
