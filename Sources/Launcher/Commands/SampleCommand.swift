import ArgumentParser
import Foundation
import Stages
import Tensors

/// `dit sample`: image generation, single-process or pipelined over the
/// ranks of `mpirun`, from flags and/or a YAML experiment file.
struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Generate images (upstream sample.py semantics), optionally pipelined across MPI ranks.",
        discussion: """
            Flags override the experiment file's keys; defaults are those of a file that leaves a key out. \
            Relative paths are taken from the working directory (in an experiment file, a checkpoint path \
            that does not exist there is also looked for beside the file).

            Examples:
              dit sample experiments/digits-1stage.yaml --output-dir out/demo
              dit sample --checkpoint M.safetensors --vae VAE.safetensors --classes 207,360
              mpirun -np 4 --bind-to none dit sample experiments/dit-xl2-4stages.yaml
            """)

    @Argument(help: "YAML experiment file (experiments/*.yaml); flags override its keys.") var config: String?
    @Option(help: "DiT checkpoint (safetensors, upstream names; required unless the file gives one).") var checkpoint: String?
    @Option(help: "Preset (DiT-XL/2, ...) to plan or --simulate without a checkpoint file (default: none).") var model: String?
    @Option(help: "Image size in pixels (upstream --image-size: 256 or 512); sets the preset's latent size, checked against the checkpoint (default: the checkpoint's).") var imageSize: Int?
    @Option(help: "Attention heads, if not in the checkpoint's metadata (default: the preset with its hidden size).") var numHeads: Int?
    @Option(help: "ddpm, ddim or dpm-solver++ (diffusers' DPMSolverMultistepScheduler; default \(Self.d.sampler)).") var sampler: String?
    @Option(help: "Sampling steps, 1 to 1000 (default \(Self.d.steps)); --respacing ddimN or a list overrides the count.") var steps: Int?
    @Option(help: "Upstream timestep_respacing (default: the step count; e.g. ddim50 or 10,15,20).") var respacing: String?
    @Option(help: "DDIM eta (default \(Self.d.eta.formatted())).") var eta: Double?
    @Option(help: "dpm-solver++ only: linspace (default), leading or trailing.") var timestepSpacing: String?
    @Flag(help: "Print the timesteps the run evaluates the model at.") var verbose = false
    @Option(help: "Classifier-free guidance scale; 1 = no guidance, no doubled batch (default \(Self.d.cfgScale.formatted())).") var cfgScale: Double?
    @Option(help: "upstream (eps channels 0, 1, 2) or all-channels (default \(Self.d.guidance.rawValue)).") var guidance: GuidanceMode?
    @Option(help: "Class labels, comma-separated, one image each (required unless --num-images).") var classes: String?
    @Option(help: "Random seed (default \(Self.d.seed)).") var seed: UInt64?
    @Option(help: "default (Philox, by image) or torch (torch.manual_seed stream as upstream sample.py draws it); default: \(Self.d.rng).") var rng: String?
    @Option(help: "safetensors with z (N,C,H,W) and noise (steps,N,C,H,W), used as given (default: none).") var noise: String?
    @Option(help: "Output directory (samples.h5, PNGs, grid.png; default \(Self.d.outputDir)).") var outputDir: String?
    @Option(help: "Images per grid row (default \(Self.d.nrow)).") var nrow: Int?
    @Option(help: "Pipeline stages (default: world size / replicas).") var stages: Int?
    @Option(help: "Data-parallel replicas (default \(Self.d.replicas)).") var replicas: Int?
    @Option(help: "Images per micro-batch (default \(Self.d.microbatchSize)).") var microbatchSize: Int?
    @Option(help: "1, or 2: the conditional and the null-class rows on two rank groups (needs guidance; default 1).") var cfgParallel: Int?
    @Option(help: "Ulysses sequence parallelism: ranks per stage, each holding tokens/P tokens (must divide heads and tokens; default 1).") var sequenceParallel: Int?
    @Option(help: "Blocks per stage, comma-separated, or auto (default auto: balanced by cost).") var partition: String?
    @Option(help: "BLAS threads per rank (default: OPENBLAS_NUM_THREADS, else every core).") var threads: Int?
    @Option(help: "Write a Chrome trace per rank to PATH (PATH.rankN.json; default: none).") var trace: String?
    @Flag(help: "Replace block compute with a calibrated sleep (schedule studies).") var simulate = false
    @Option(help: "Seconds one block takes under --simulate (default: measured).") var simulateBlockSeconds: Double?
    @Option(help: "AutoencoderKL decoder (diffusers names) for latent models (default: none; latents only in samples.h5).") var vae: String?
    @Option(help: "Also write the images as an ADM-format .npz (arr_0, uint8 N×H×W×3; default: none).") var npz: String?
    @Option(help: "Bulk generation (upstream sample_ddp.py): this many images as output-dir/NNNNNN.png plus the .npz; resumable. Labels cycle through --classes, or are drawn from the seed without it.") var numImages: Int?
    @Option(help: "Images per chunk of a bulk run, a multiple of microbatch size × replicas (default: replicas × microbatch size × max(4, 2 × stages)).") var chunkImages: Int?
    @Flag(help: "Clamp predicted x0 to [-1, 1] (upstream clip_denoised).") var clipDenoised = false
    @Option(help: "Seconds a rank waits for a peer before ending the job (default: 60 + 10 × the slowest wait so far).") var peerTimeout: Double?
    @Flag(help: "Run even when ranks differ in build, BLAS kernels, threads or CPU features (results may differ in the last bits).") var allowHeterogeneous = false
    @Flag(help: "Replace another run's files in --output-dir (removed before this run's are put in place).") var overwrite = false
    @OptionGroup var dumpOptions: DumpOptions
    @OptionGroup var engine: EngineOptions
    @OptionGroup var progressOptions: ProgressOptions

    /// The defaults the help shows.
    static let d = RunConfig()

    /// The run config: file, then flags on top.
    func runConfig(worldSize: Int) throws -> RunConfig {
        var r = try config.map { try RunConfig.load(path: $0) } ?? RunConfig()
        if let checkpoint { r.checkpoint = checkpoint }
        if let model { r.model = model }
        if let imageSize { r.imageSize = imageSize }
        if let numHeads { r.numHeads = numHeads }
        if let sampler { r.sampler = sampler }
        if let steps { r.steps = steps }
        if let respacing { r.respacing = respacing }
        if let eta { r.eta = eta }
        if let timestepSpacing { r.timestepSpacing = timestepSpacing }
        if let cfgScale { r.cfgScale = cfgScale }
        if let guidance { r.guidance = guidance }
        if let classes {
            r.classes = try classes.split(separator: ",").map { s in
                guard let v = Int(s.trimmingCharacters(in: .whitespaces)) else {
                    throw DiTError("--classes: '\(s)' is not an integer; give labels like 3,1,4")
                }
                return v
            }
        }
        if let seed { r.seed = seed }
        if let rng { r.rng = rng }
        if let noise { r.noise = noise }
        if let outputDir { r.outputDir = outputDir }
        if let nrow { r.nrow = nrow }
        if let replicas { r.replicas = replicas }
        if let cfgParallel { r.cfgParallel = cfgParallel }
        if let sequenceParallel { r.sequenceParallel = sequenceParallel }
        // The config file's stages are the contract (checked against the world size); without one, the world decides.
        if let stages { r.stages = stages } else if config == nil {
            r.stages = max(1, worldSize / max(1, r.replicas * r.cfgParallel * r.sequenceParallel))
        }
        if let microbatchSize { r.microbatchSize = microbatchSize }
        if let partition {
            r.partition = partition == "auto" ? .auto : .blocks(try partition.split(separator: ",").map { s in
                guard let v = Int(s) else { throw DiTError("--partition: '\(s)' is not a block count; use auto or e.g. 7,7,7,7") }
                return v
            })
        }
        if let threads { r.threads = threads }
        if let gemm = engine.gemm { r.gemm = gemm }
        if let precision = engine.precision { r.precision = precision }
        if let trace { r.trace = trace }
        if simulate { r.simulate = true }
        if let vae { r.vae = vae }
        if let npz { r.npz = npz }
        if clipDenoised { r.clipDenoised = true }
        if let peerTimeout { r.peerTimeout = peerTimeout }
        if let numImages { r.numImages = numImages }
        if let chunkImages { r.chunkImages = chunkImages }
        try dumpOptions.apply(to: &r)
        return r
    }

    func run() throws {
        let world = MPIWorld.shared
        do {
            try sample(world: world)
        } catch {
            if world.active && world.size > 1 { world.abort("\(error)") }
            throw error
        }
        world.finalize()
    }

    func sample(world: MPIWorld) throws {
        let run = try runConfig(worldSize: world.size)
        try EngineOptions.configure(gemm: run.gemm, precision: run.precision, threads: run.threads)
        world.startWatchdog(peerTimeout: run.peerTimeout)
        try world.handshake(allowHeterogeneous: allowHeterogeneous)
        guard try world.allAgree(run.fingerprint) else {
            throw DiTError("ranks disagree on the run config (different experiment files, flags or builds); every rank must run the same command")
        }
        // --simulate needs no weights: a preset (`model:`) is enough.
        let ckpt = run.simulate && run.model != nil && !FileManager.default.fileExists(atPath: run.checkpoint)
            ? nil : try Checkpoint(path: run.checkpoint, numHeads: run.numHeads)
        let config = try ckpt?.config ?? run.presetModel()
        let bulk = try run.numImages.map { _ in try BulkPlan(run: run, model: config) }
        let plan = try SamplingPlan(run: bulk?.run(chunk: 0) ?? run, model: config)
        try plan.layout.check(worldSize: world.size)
        let position = plan.layout.position(rank: world.rank), replica = position.replica, stage = position.stage
        if world.rank == 0 {
            if let note = run.respacingNote { Stderr.write("dit: \(note)\n") }
            if verbose { Stderr.write("dit: \(plan.timestepsLine)\n") }
        }
        let transport: Transport? = world.size > 1 ? MPITransport(world: world) : nil
        let pixels = config.makesPixels
        if pixels, let vae = run.vae {
            throw DiTError("vae: this model makes \(config.inChannels)-channel images directly, so the VAE \(vae) would not be used; remove --vae (vae: in the config)")
        }
        if bulk != nil && !pixels && run.vae == nil {
            throw DiTError("num_images: this model makes \(config.inChannels)-channel latents; pass --vae VAE.safetensors (vae: in the config) to write images")
        }
        let decoder = try run.simulate || pixels ? nil : run.vae.map {
            try SpreadDecoder(path: $0, model: config, transport: transport)
        }
        let output = world.rank == 0 && !run.simulate
            ? try OutputDirectory(path: run.outputDir, overwrite: overwrite, bulk: bulk != nil) : nil
        let sha256 = output.map { CheckpointHash.Background(path: run.checkpoint, fallbackDirectory: $0.path) }
        let session = SamplingSession(world: world, transport: transport, position: position,
            model: run.simulate ? nil : try DiT(checkpoint: ckpt!, blocks: plan.partition.ranges[stage], embedders: stage == 0,
                                                finalLayer: stage == plan.stages - 1),
            decoder: decoder)
        if let bulk, let ckpt {
            try BulkSampler(bulk: bulk, session: session, checkpoint: ckpt, output: output, progress: progressOptions).run()
            return
        }

        if let path = run.trace {
            let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
            guard (try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)) != nil else {
                throw DiTError("--trace \(path): cannot create directory \(dir)")
            }
        }
        let trace = run.trace.map { _ in Trace(rank: world.rank, stage: stage) }
        trace?.info = ["gemm": Gemm.description, "precision": Gemm.precision.rawValue,
                       "cpu": CPUFeatures.current.modelName, "cpu_flags": CPUFeatures.current.flagList]
        // Images counted once per replica (`dit report` sums stage 0's ranks).
        trace?.metadata = ["images": position.isSampler ? plan.images(replica: replica).count : 0, "steps": plan.steps, "stages": plan.stages,
                           "microbatches": plan.microbatches(replica: replica), "replica": replica,
                           "ranks": world.size, "run_id": try TraceWriter.runID(world: world), "host": TraceWriter.hostID,
                           "cores": ProcessInfo.processInfo.activeProcessorCount, "threads": Gemm.threads]
        let traceWriter = trace.map { TraceWriter(trace: $0, path: rankPath(run.trace!, rank: world.rank, defaultExtension: "json")) }
        let sink = try ckpt.flatMap { ckpt in
            try run.dump.map { _ in
                try HDF5Sink(run: run, plan: plan, checkpoint: ckpt, rank: world.rank, stage: stage,
                             killAfterStep: try dumpOptions.killAfterStep(rank: world.rank))
            }
        }
        let noise: NoiseSource? = position.isSampler ? try makeNoise(run, plan) : nil
        let progress = world.rank == 0 ? Progress(plan: plan, replica: replica, options: progressOptions) : nil
        let start = Date()
        world.lastWords = traceWriter.map { writer in { writer.abandon() } }
        let samples: Tensor?
        do {
            samples = try session.sample(plan: plan, noise: noise, sink: sink, trace: trace,
                                         simulatedBlockSeconds: simulateBlockSeconds ?? 0.005) { step, mb in
                try world.checkInterrupted()
                progress?.update(step: step, microbatch: mb)
            }
        } catch {
            world.lastWords = nil
            traceWriter?.abandon()
            throw error
        }
        world.lastWords = nil
        progress?.finish()
        let seconds = Date().timeIntervalSince(start)
        try traceWriter?.finish()
        if run.simulate && world.rank == 0 && progressOptions.talks {
            Stderr.write("dit: simulated \(plural(run.classes.count, "image")) in "
                + String(format: "%.2f s (%.3f images/s)\n", seconds, Double(run.classes.count) / seconds))
        }
        guard !run.simulate else { return }
        let images = pixels ? samples : try session.decode(samples, plan: plan)
        if let output, let samples, let ckpt {
            if !pixels && decoder == nil {
                Stderr.write("dit: \(config.inChannels)-channel latents written to samples.h5 only; pass --vae VAE.safetensors to decode them to images\n")
            }
            try output.write(samples: samples, images: images, plan: plan, checkpoint: ckpt, sha256: sha256!.value)
            if progressOptions.talks {
                Stderr.write("dit: \(plural(samples.shape[0], "image")) in "
                    + String(format: "%.2f s (%.3f images/s) → ", seconds, Double(samples.shape[0]) / seconds) + run.outputDir + "\n")
            }
        }
    }

    func makeNoise(_ run: RunConfig, _ plan: SamplingPlan) throws -> NoiseSource {
        if let path = run.noise {
            return try FileNoise(path: path, images: run.classes.count, imageShape: plan.imageShape, steps: plan.steps,
                                 stepNoise: !plan.sampler.isDeterministic)
        }
        if run.rng == "torch" {
            // sample.py always samples the doubled batch (forward_with_cfg), so draws 2N rows per step even at cfg 1.
            return TorchNoise(seed: run.seed, images: run.classes.count, imageSize: plan.imageSize, doubledBatch: true,
                              skip: plan.model.upstreamInitDraws)
        }
        return PhiloxNoise(seed: run.seed, imageSize: plan.imageSize)
    }
}

extension RunConfig {
    /// A hash of the config every rank must share (FNV-1a over its JSON).
    var fingerprint: UInt64 {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = (try? encoder.encode(self)) ?? Data()
        return data.reduce(0xCBF2_9CE4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }
}
