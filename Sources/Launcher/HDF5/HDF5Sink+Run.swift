import Foundation
import Stages
import Tensors

extension HDF5Sink {
    /// The sink of rank `rank` for a sampling run with a `dump:` section.
    convenience init(run: RunConfig, plan: SamplingPlan, checkpoint: Checkpoint, rank: Int, stage: Int,
                     killAfterStep: Int? = nil) throws {
        guard let dump = run.dump else { throw DiTError("dump: no dump configured") }
        let selection = try DumpSelection(dump, stepCount: plan.steps)
        try self.init(dump: dump, selection: selection, rank: rank, stage: stage,
                      rootAttributes: Self.rootAttributes(run: run, plan: plan, checkpoint: checkpoint, rank: rank, stage: stage),
                      checkpointToHash: checkpoint.path, killAfterStep: killAfterStep)
    }

    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Root attributes of a rank file: what produced it (docs/dump-format.md).
    static func rootAttributes(run: RunConfig, plan: SamplingPlan, checkpoint: Checkpoint, rank: Int, stage: Int) -> [(String, AttributeValue)] {
        let file = try? FileManager.default.attributesOfItem(atPath: checkpoint.path)
        let size = (file?[.size] as? NSNumber)?.intValue ?? -1
        let mtime = (file?[.modificationDate] as? Date).map { ISO8601DateFormatter().string(from: $0) } ?? ""
        let blocks = plan.partition.ranges[stage]
        let dump = run.dump!
        return [
            ("format", .string(DumpLayout.format)), ("format_version", .int(DumpLayout.formatVersion)),
            ("layout", .string(DumpLayout.rankLayout)),
            ("program", .string("dit")), ("program_version", .string(DiTCommand.configuration.version)),
            ("model_config", .string(json(plan.model))),
            ("checkpoint", .string(checkpoint.path)), ("checkpoint_size", .int(size)), ("checkpoint_mtime", .string(mtime)),
            ("run_config", .string(json(run))),
            ("sampler", .string(run.sampler)), ("steps", .int(plan.steps)), ("respacing", .string(run.effectiveRespacing)),
            ("eta", .double(run.eta)), ("cfg_scale", .double(run.cfgScale)), ("guidance", .string(run.guidance.rawValue)),
            ("seed", .int(Int(truncatingIfNeeded: run.seed))), ("noise", .string(run.noise.map { "file:\($0)" } ?? run.rng)),
            ("classes", .ints(run.classes)), ("microbatch_size", .int(plan.microbatchSize)),
            ("timesteps", .ints(plan.timesteps)),
            ("rank", .int(rank)), ("stage", .int(stage)), ("stages", .int(plan.stages)), ("replicas", .int(plan.replicas)),
            ("blocks", .ints(Array(blocks))),
            ("dump_steps", .string(dump.steps)), ("dump_points", .string(dump.points.joined(separator: ","))),
            ("dump_images", .string(dump.images.map { $0.map(String.init).joined(separator: ",") } ?? "all")),
            ("compress", .string(dump.compress ? "gzip" : "none")),
            ("gemm", .string(Gemm.description)), ("precision", .string(Gemm.precision.rawValue)),
            ("cpu", .string(CPUFeatures.current.modelName)), ("cpu_flags", .string(CPUFeatures.current.flagList)),
        ]
    }
}
