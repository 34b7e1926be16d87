import Foundation
import Yams
import Tensors

/// How stages split the blocks: `auto` (balanced by cost) or explicit block
/// counts per stage.
public enum PartitionSpec: Codable, Equatable, Sendable {
    case auto
    case blocks([Int])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self), s == "auto" { self = .auto; return }
        if let list = try? c.decode([Int].self) { self = .blocks(list); return }
        throw DiTError("config key partition: expected 'auto' or a list of block counts per stage, e.g. [7, 7, 7, 7]")
    }

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
public struct RunConfig: Codable, Equatable, Sendable {
    public var checkpoint: String = ""
    /// A preset name (DiT-XL/2, ...) for planning and --simulate runs when
    /// the checkpoint file is not at hand.
    public var model: String?
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

    enum CodingKeys: String, CodingKey {
        case checkpoint, model, numHeads = "num_heads", sampler, steps, respacing, eta, cfgScale = "cfg_scale", guidance
        case classes, seed, rng, noise, clipDenoised = "clip_denoised", outputDir = "output_dir", nrow
        case stages, replicas, microbatchSize = "microbatch_size", partition, threads, vae, npz, trace, simulate, dump
        case numImages = "num_images", chunkImages = "chunk_images"
        case gemm, precision
        case peerTimeout = "peer_timeout"
        case cfgParallel = "cfg_parallel", sequenceParallel = "sequence_parallel"
        case timestepSpacing = "timestep_spacing"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var r = RunConfig()
        func get<T: Decodable>(_ key: CodingKeys, _ into: inout T) throws {
            do {
                if let v = try c.decodeIfPresent(T.self, forKey: key) { into = v }
            } catch let e as DiTError {
                throw e
            } catch {
                throw DiTError("config key \(key.rawValue): expected \(T.self) (\(error))")
            }
        }
        func getOpt<T: Decodable>(_ key: CodingKeys, _ into: inout T?) throws {
            do { into = try c.decodeIfPresent(T.self, forKey: key) ?? into } catch {
                throw DiTError("config key \(key.rawValue): expected \(T.self)")
            }
        }
        try get(.checkpoint, &r.checkpoint); try getOpt(.model, &r.model); try getOpt(.numHeads, &r.numHeads); try get(.sampler, &r.sampler)
        try get(.steps, &r.steps); try getOpt(.respacing, &r.respacing); try get(.eta, &r.eta)
        try get(.cfgScale, &r.cfgScale); try get(.guidance, &r.guidance); try get(.classes, &r.classes)
        try get(.seed, &r.seed); try get(.rng, &r.rng); try getOpt(.noise, &r.noise)
        try get(.clipDenoised, &r.clipDenoised); try get(.outputDir, &r.outputDir); try get(.nrow, &r.nrow)
        try get(.stages, &r.stages); try get(.replicas, &r.replicas); try get(.microbatchSize, &r.microbatchSize)
        try get(.partition, &r.partition); try getOpt(.threads, &r.threads); try getOpt(.vae, &r.vae); try getOpt(.npz, &r.npz)
        try getOpt(.trace, &r.trace); try get(.simulate, &r.simulate); try getOpt(.dump, &r.dump)
        try getOpt(.numImages, &r.numImages); try getOpt(.chunkImages, &r.chunkImages)
        try get(.gemm, &r.gemm); try get(.precision, &r.precision)
        try getOpt(.peerTimeout, &r.peerTimeout)
        try get(.cfgParallel, &r.cfgParallel); try get(.sequenceParallel, &r.sequenceParallel)
        try getOpt(.timestepSpacing, &r.timestepSpacing)
        self = r
    }

    public static let knownKeys = Set(["checkpoint", "model", "num_heads", "sampler", "steps", "respacing", "eta", "cfg_scale",
        "guidance", "classes", "seed", "rng", "noise", "clip_denoised", "output_dir", "nrow", "stages", "replicas",
        "microbatch_size", "partition", "threads", "vae", "npz", "trace", "simulate", "dump", "num_images", "chunk_images",
        "gemm", "precision",
        "peer_timeout", "cfg_parallel", "sequence_parallel", "timestep_spacing"])

    /// Parses a YAML experiment file; unknown keys are errors (a typo must
    /// not silently fall back to a default).
    public static func load(path: String) throws -> RunConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw DiTError("\(path): cannot read the experiment file")
        }
        let node: Any?
        do { node = try Yams.load(yaml: text) } catch {
            throw DiTError("\(path): not valid YAML (\(error))")
        }
        guard let dict = node as? [String: Any] else {
            throw DiTError("\(path): an experiment file is a YAML mapping of keys (checkpoint, steps, ...)")
        }
        if let bad = dict.keys.sorted().first(where: { !knownKeys.contains($0) }) {
            throw DiTError("\(path): unknown config key '\(bad)'; known keys: \(knownKeys.sorted().joined(separator: ", "))")
        }
        do {
            var config = try YAMLDecoder().decode(RunConfig.self, from: text)
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
        } catch {
            throw DiTError("\(path): \(error)")
        }
    }

    /// The `model` preset's architecture.
    public func presetModel() throws -> DiTConfig {
        guard let name = model, let preset = DiTConfig.preset(name) else {
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
        try need(steps >= 1 && steps <= 1000, "steps", "must be in 1...1000 (got \(steps))")
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
        if let model {
            if let bad = classes.first(where: { $0 < 0 || $0 >= model.numClasses }) {
                throw DiTError("config key classes: class \(bad) is out of range; this model has classes 0...\(model.numClasses - 1)")
            }
            try need(stages <= model.depth, "stages", "\(stages) stages for a model of \(model.depth) blocks; each stage needs at least one block")
            if case .blocks(let b) = partition {
                try need(b.count == stages && b.allSatisfy { $0 >= 1 } && b.reduce(0, +) == model.depth, "partition",
                         "\(b) must list \(stages) positive block counts summing to depth \(model.depth)")
            }
        }
    }
}
