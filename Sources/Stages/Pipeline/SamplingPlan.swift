/// Everything every rank derives identically from the run config and the
/// model: images per replica, micro-batches, partition, schedule, diffusion.
public struct SamplingPlan: Sendable {
    public let run: RunConfig
    public let model: DiTConfig
    public let partition: Partition
    public let sampler: Sampler
    /// timesteps[k]: the model timestep of loop step k (k = 0 first).
    public let timesteps: [Int]
    /// Conditional images per micro-batch; with guidance each also has its
    /// null-class twin, so a CFG pair never splits.
    public let microbatchSize: Int
    public var stages: Int { partition.stages }
    public var replicas: Int { run.replicas }
    public var layout: Layout { Layout(replicas: replicas, stages: stages, cfg: run.cfgParallel, sp: run.sequenceParallel) }
    public var steps: Int { timesteps.count }
    public var doubled: Bool { run.usesGuidance }
    public var rowsPerMicrobatch: Int { microbatchSize * (doubled ? 2 : 1) }
    public var imageShape: [Int] { [model.inChannels, model.inputSize, model.inputSize] }
    public var imageSize: Int { imageShape.reduce(1, *) }
    public var outputSize: Int { model.outChannels * model.inputSize * model.inputSize }

    public init(run: RunConfig, model: DiTConfig) throws {
        try run.validate(model: model)
        self.run = run
        self.model = model
        partition = try Partition(run.partition, config: model, stages: run.stages)
        sampler = try Sampler(run: run, model: model)
        timesteps = sampler.timesteps
        if run.sampler == "ddpm" && timesteps.count == 1 && model.learnSigma { throw SamplingError.oneStepLearnedVariance }
        microbatchSize = run.microbatchSize
        let total = (run.classes.count + run.microbatchSize - 1) / run.microbatchSize
        guard total >= run.replicas else {
            throw DiTError("replicas: \(plural(run.replicas, "replica")) but only \(plural(total, "micro-batch", "micro-batches")) of \(plural(run.microbatchSize, "image")) (\(plural(run.classes.count, "image"))); lower replicas or microbatch_size")
        }
    }

    /// All images cut into micro-batches of `microbatchSize` (the last
    /// padded); this many in all.
    public var totalMicrobatches: Int { (run.classes.count + microbatchSize - 1) / microbatchSize }

    /// Replica r's images: a contiguous share of whole micro-batches (earlier
    /// replicas one more when the count does not divide). Every image keeps
    /// its position in its micro-batch whatever the replica count — OpenBLAS
    /// rounds a row differently at different positions of a tile, so this is
    /// what keeps results bitwise identical across splits.
    public func images(replica r: Int) -> Range<Int> {
        let per = totalMicrobatches / replicas, extra = totalMicrobatches % replicas
        let first = r * per + min(r, extra), count = per + (r < extra ? 1 : 0)
        let n = run.classes.count
        return min(first * microbatchSize, n)..<min((first + count) * microbatchSize, n)
    }

    public func microbatches(replica r: Int) -> Int {
        (images(replica: r).count + microbatchSize - 1) / microbatchSize
    }

    public func schedule(replica r: Int) -> Schedule {
        Schedule(stages: stages, microbatches: microbatches(replica: r), steps: steps)
    }

    /// World rank of the replica's sampler (stage 0, CFG branch 0, sequence part 0).
    public func samplerRank(replica: Int) -> Int { layout.rank(.init(replica: replica, stage: 0)) }

    /// "timesteps (ddim, respacing ddim10): 900, 800, …, 0", for `dit plan` and `--verbose`.
    public var timestepsLine: String {
        "timesteps (\(run.sampler), \(run.sampler == "dpm-solver++" ? "timestep_spacing" : "respacing") \(run.effectiveRespacing)): "
            + timesteps.map(String.init).joined(separator: ", ")
    }

    /// Rows one rank computes per micro-batch: all of them, or under
    /// CFG-parallel one branch's half (the conditional or the null rows).
    public var rowsPerRank: Int { rowsPerMicrobatch / run.cfgParallel }
    /// Equal groups of a rank's rows that every linear multiplies in its own
    /// GEMM call (`Workspace.rowGroups`): the two halves of [conditional;
    /// null] when one rank holds both, so that 1 rank and CFG-parallel give
    /// the same bits on any GEMM backend.
    public var rowGroups: Int { doubled && run.cfgParallel == 1 ? 2 : 1 }
    /// Tokens of each image one rank holds (Ulysses: T/P).
    public var tokensPerRank: Int { model.tokens / run.sequenceParallel }
    /// Floats of one final-layer output row of one token (p·p·C_out).
    public var patchFloats: Int { model.patchSize * model.patchSize * model.outChannels }

    /// Floats in one rank's messages per micro-batch: activations (its rows'
    /// tokens, then c), final-layer output rows (its rows' tokens, before
    /// unpatchify) and the latents stage 0's other ranks take from the sampler.
    public var activationFloats: Int { rowsPerRank * (tokensPerRank + 1) * model.hiddenSize }
    public var outputFloats: Int { rowsPerRank * tokensPerRank * patchFloats }
    public var latentFloats: Int { microbatchSize * imageSize }
}
