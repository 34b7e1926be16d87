import Foundation
import Tensors

/// How stages split the blocks: `auto` (balanced by cost) or explicit block
/// counts per stage.
public enum PartitionSpec: Encodable, Equatable, Sendable {
    case auto
    case blocks([Int])

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .auto: try c.encode("auto")
        case .blocks(let b): try c.encode(b)
        }
    }
}

/// One sampling run: model, sampler, images, parallel layout and outputs.
/// Read from YAML experiment files (upstream-style snake_case keys); command
/// line flags override.
public struct RunConfig: Encodable, Equatable, Sendable {
    public var checkpoint: String = ""
    /// A preset name (DiT-XL/2, ...) for planning and --simulate runs when
    /// the checkpoint file is not at hand.
    public var model: String?
    /// Upstream sample.py's --image-size (256 or 512): the preset's latent
    /// size is image_size / 8; a checkpoint's own size must agree.
    public var imageSize: Int?
    public var numHeads: Int?
    public var sampler: String = "ddpm"
    public var steps: Int = 250
    /// Upstream `timestep_respacing`; default: String(steps).
    public var respacing: String?
    /// dpm-solver++ only: diffusers' timestep_spacing (linspace, leading, trailing; default linspace).
    public var timestepSpacing: String?
    public var eta: Double = 0
    public var cfgScale: Double = 4
    public var guidance: GuidanceMode = .upstream
    public var classes: [Int] = []
    public var seed: UInt64 = 0
    /// default (Philox by image) or torch (the stream of torch.manual_seed).
    public var rng: String = "default"
    public var noise: String?
    public var clipDenoised: Bool = false
    public var outputDir: String = "out/samples"
    public var nrow: Int = 8
    public var stages: Int = 1
    public var replicas: Int = 1
    /// Images per micro-batch (each with its null-class twin under guidance).
    /// The last micro-batch is padded, so every GEMM has the same shape
    /// whatever the stage or replica count: results are bitwise identical.
    public var microbatchSize: Int = 4
    public var partition: PartitionSpec = .auto
    public var threads: Int?
    public var vae: String?
    /// Also write the images as an ADM-format .npz (arr_0, uint8 N×H×W×3).
    public var npz: String?
    public var trace: String?
    public var simulate: Bool = false
    /// Bulk generation (upstream sample_ddp.py): this many images, in
    /// chunks of `chunkImages`, resumable; labels from `classes` cycled, or
    /// drawn from the seed when `classes` is empty.
    public var numImages: Int?
    /// Images per chunk of a bulk run (default: replicas × microbatch_size
    /// × max(4, 2 × stages)): the pipeline fills once per chunk, and a
    /// restart redoes at most the chunks not fully written.
    public var chunkImages: Int?
    public var dump: DumpConfig?
    /// The GEMM library (`GemmBackend.Choice`): auto, openblas or onednn.
    public var gemm: GemmBackend.Choice = .auto
    /// fp32 (exact, the default) or bf16 (opt-in, needs avx512_bf16).
    public var precision: Precision = .fp32
    /// Seconds a rank waits for a peer's message before it ends the job;
    /// default: 60 s plus 10 × the slowest wait seen so far.
    public var peerTimeout: Double?
    /// Rank groups sharing one micro-batch's guidance pair: 1, or 2 (the
    /// conditional rows on one group, the null-class rows on the other).
    public var cfgParallel: Int = 1
    /// Ulysses sequence parallelism: ranks per stage that each hold
    /// tokens/P tokens of every image.
    public var sequenceParallel: Int = 1

    public init() {}

    /// The config an experiment file's text gives.
    public static func parse(_ text: String) throws -> RunConfig {
        var config = RunConfig()
        for (key, value) in try ConfigNode.parse(text).mapping(keys: knownKeys) {
            try keys.first { $0.name == key }!.read(&config, value)
        }
        return config
    }

    /// Parses a YAML experiment file. Unknown and repeated keys are errors
    /// (a typo must not silently fall back to a default), and so is a value
    /// of the wrong type, named with its key path.
    public static func load(path: String) throws -> RunConfig {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        guard let size else {
            throw DiTError("\(path): no such experiment file (relative paths are from the working directory \(FileManager.default.currentDirectoryPath))")
        }
        guard size <= ConfigNode.maxBytes, let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw DiTError(size > ConfigNode.maxBytes
                ? "\(path): \(size) bytes; an experiment file is at most \(ConfigNode.maxBytes) bytes of keys"
                : "\(path): cannot read the experiment file as UTF-8 text")
        }
        do {
            var config = try parse(text)
            let base = URL(fileURLWithPath: path).deletingLastPathComponent()
            // Paths in an experiment file are relative to the repository root
            // when they exist there, else to the file.
            let p = config.checkpoint, beside = base.appendingPathComponent(p).path
            if !p.isEmpty, !p.hasPrefix("/"), !FileManager.default.fileExists(atPath: p),
               FileManager.default.fileExists(atPath: beside) {
                config.checkpoint = beside
            }
            return config
        } catch let e as DiTError {
            throw DiTError("\(path): \(e.message)")
        }
    }

    /// The `model` preset's architecture.
    public func presetModel() throws -> DiTConfig {
        guard let name = model, let preset = DiTConfig.preset(name, inputSize: (imageSize ?? 256) / 8) else {
            throw DiTError("config key model: '\(model ?? "")' is not a preset; use one of \(DiTConfig.presetNames.joined(separator: ", "))")
        }
        return preset
    }

    public var usesGuidance: Bool { cfgScale != 1 }

    /// One check of every key, naming the key and the allowed values.
    public func validate(model: DiTConfig? = nil) throws {
        func need(_ ok: Bool, _ key: String, _ why: String) throws {
            if !ok { throw DiTError("config key \(key): \(why)") }
        }
        try need(!checkpoint.isEmpty, "checkpoint", "required (a DiT safetensors file)")
        try need(Sampler.names.contains(sampler), "sampler", "'\(sampler)' is not a sampler; use ddpm, ddim or dpm-solver++")
        try need(steps >= 1 && steps <= 1000, "steps", "must be from 1 to 1000 (got \(steps))")
        try validateSamplerOptions()
        try need(eta >= 0, "eta", "must be ≥ 0 (got \(eta))")
        try need(eta == 0 || sampler == "ddim", "eta", "\(eta) has no effect on \(sampler): only DDIM uses eta; remove it, or use sampler ddim")
        try need(cfgScale >= 0 && cfgScale.isFinite, "cfg_scale", "must be ≥ 0 (got \(cfgScale)); 1 means no guidance")
        if let numImages {
            try need(numImages >= 1, "num_images", "must be ≥ 1 (got \(numImages))")
            try need(rng == "default" && noise == nil, "num_images",
                     "bulk generation draws each image's noise from (seed, image); remove rng: torch / noise")
            try need(trace == nil && dump == nil, "num_images", "trace and dump record one run; trace a run of a few classes instead")
            try need(!simulate, "num_images", "not with simulate")
            if let chunkImages {
                try need(chunkImages >= 1 && chunkImages % (microbatchSize * replicas) == 0, "chunk_images",
                         "\(chunkImages) must be a positive multiple of microbatch_size × replicas = \(microbatchSize * replicas), so every image keeps its place in its micro-batch")
            }
        } else {
            try need(!classes.isEmpty, "classes", "give at least one class label, e.g. 3,1,4 (or num_images for bulk generation)")
            try need(chunkImages == nil, "chunk_images", "only with num_images")
        }
        try need(["default", "torch"].contains(rng), "rng", "'\(rng)' is not a generator; use default or torch")
        try need(nrow >= 1, "nrow", "must be ≥ 1 (got \(nrow))")
        try need(stages >= 1, "stages", "must be ≥ 1 (got \(stages))")
        try need(replicas >= 1, "replicas", "must be ≥ 1 (got \(replicas))")
        try need(microbatchSize >= 1, "microbatch_size", "must be ≥ 1 (got \(microbatchSize))")
        if let threads { try need(threads >= 1, "threads", "must be ≥ 1 (got \(threads))") }
        if let peerTimeout { try need(peerTimeout > 0 && peerTimeout.isFinite, "peer_timeout", "must be a positive number of seconds (got \(peerTimeout))") }
        try validateParallel(model: model)
        if let imageSize { try need(imageSize > 0 && imageSize % 8 == 0, "image_size", "must be a positive multiple of 8, e.g. 256 or 512 (got \(imageSize))") }
        if let model {
            if let imageSize, !model.makesPixels {
                try need(model.inputSize * 8 == imageSize, "image_size",
                         "\(imageSize) but the checkpoint's latents are \(model.inputSize)×\(model.inputSize) (\(model.inputSize * 8)-px images); use the checkpoint of that size or remove image_size")
            }
            if let bad = classes.first(where: { $0 < 0 || $0 >= model.numClasses }) {
                throw DiTError("config key classes: class \(bad) is out of range; this model has classes 0 to \(model.numClasses - 1)")
            }
            _ = try Partition(partition, config: model, stages: stages)
        }
    }
}
