import Foundation
import Stages
import Tensors

/// `samples.h5` of a sampling run, laid out for h5py (docs/formats.md):
/// `/samples` (N, C, H, W) float32, the final latents (or pixels for a pixel
/// model); `/images` the decoded images when a VAE ran; `/labels` int64 (N);
/// `/timesteps` int64, the diffusion timesteps in the order they ran; and
/// typed root attributes (numbers as numbers) describing the run.
enum SamplesFile {
    /// Writes `path` (a temporary name: the caller renames it into place).
    static func write(to path: String, samples: Tensor, images: Tensor?, plan: SamplingPlan,
                      attributes: [(String, AttributeValue)]) throws {
        let file = try H5Writer(creating: path, format: .dump)
        try file.write("/samples", samples)
        if let images, images !== samples {
            try file.write("/images", images)
        }
        try file.writeInts("/labels", plan.run.classes)
        try file.writeInts("/timesteps", plan.timesteps)
        for (key, value) in attributes { try file.setRootAttribute(key, value) }
        try file.close()
    }

    static func attributes(plan: SamplingPlan, checkpoint: Checkpoint, sha256: String, decoded: Bool) -> [(String, AttributeValue)] {
        let run = plan.run
        var out: [(String, AttributeValue)] = [
            ("format", .string("dit-pipe samples")), ("format_version", .int(1)),
            ("program", .string("dit")), ("program_version", .string(DiTCommand.configuration.version)),
            ("run_config", .string(HDF5Sink.json(run))), ("model_config", .string(HDF5Sink.json(plan.model))),
            ("checkpoint", .string(checkpoint.path)), ("checkpoint_sha256", .string(sha256)),
            ("sampler", .string(run.sampler)), ("steps", .int(plan.steps)), ("respacing", .string(run.effectiveRespacing)),
            ("eta", .double(run.eta)), ("cfg_scale", .double(run.cfgScale)), ("guidance", .string(run.guidance.rawValue)),
            ("clip_denoised", .int(run.clipDenoised ? 1 : 0)),
            ("seed", .int(Int(truncatingIfNeeded: run.seed))), ("rng", .string(run.noise == nil ? run.rng : "file")),
            ("noise_file", .string(run.noise ?? "")),
            ("num_images", .int(run.classes.count)), ("microbatch_size", .int(plan.microbatchSize)),
            ("stages", .int(plan.stages)), ("replicas", .int(plan.replicas)),
            ("precision", .string(Gemm.precision.rawValue)), ("gemm", .string(Gemm.description)),
            ("cfg_parallel", .int(run.cfgParallel)), ("sequence_parallel", .int(run.sequenceParallel)), ("layout", .string("NCHW")),
            ("samples", .string(plan.model.makesPixels ? "pixels" : "latents")),
        ]
        if !plan.model.makesPixels {
            out.append(("vae", .string(decoded ? run.vae ?? "" : "")))
            out.append(("vae_scale_factor", .double(Double(SpreadDecoder.scale))))
        }
        return out
    }
}
