/// Everything every rank derives identically from the run config and the
/// model: images per replica, micro-batches, partition, schedule, diffusion.
public struct SamplingPlan: Sendable {
    public let run: RunConfig
    public let model: DiTConfig
    public let partition: Partition
    public let diffusion: GaussianDiffusion
    /// Conditional images per micro-batch; with guidance each also has its
    /// null-class twin, so a CFG pair never splits.
    public let microbatchSize: Int
    public var stages: Int { partition.stages }
    public var replicas: Int { run.replicas }
    public var steps: Int { diffusion.steps }
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
        diffusion = try GaussianDiffusion(respacing: run.effectiveRespacing, learnSigma: model.learnSigma)
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

    /// World rank of (replica, stage): replicas are consecutive groups of stages.
    public func rank(replica: Int, stage: Int) -> Int { replica * stages + stage }

    /// Floats in one activation message and in one model-output message.
    public var activationFloats: Int { rowsPerMicrobatch * (model.tokens + 1) * model.hiddenSize }
    public var outputFloats: Int { microbatchSize * outputSize }
}
