import Tensors

/// Bulk generation (`num_images`, as upstream sample_ddp.py): N images cut
/// into chunks, each chunk an ordinary sampling run over its images' global
/// indices. Image i's label and noise depend only on (seed, i), chunks start
/// at multiples of `microbatch_size`, and a micro-batch's GEMMs have the
/// same shape whatever the split — so image i is bitwise the same for any
/// stage, replica or chunk count (with the same micro-batch size and BLAS
/// threads), and a restart may skip every chunk whose images all exist.
public struct BulkPlan: Sendable {
    public let run: RunConfig
    public let model: DiTConfig
    public let numImages: Int
    public let chunkImages: Int
    public let numClasses: Int
    let philox: PhiloxNormal

    /// Philox stream of the labels drawn when `classes` is empty (noise
    /// uses streams 0…steps).
    static let labelStream: UInt64 = 0xFFFF_FFFF

    public init(run: RunConfig, model: DiTConfig) throws {
        guard let n = run.numImages else { throw DiTError("config key num_images: required for bulk generation") }
        try run.validate(model: model)
        self.run = run
        self.model = model
        numImages = n
        chunkImages = run.chunkImages ?? run.replicas * run.microbatchSize * max(4, 2 * run.stages)
        numClasses = model.numClasses
        philox = PhiloxNormal(seed: run.seed)
    }

    /// Image i's class: `classes[i % count]` when classes are given, else
    /// uniform over the model's classes from (seed, i).
    public func label(of image: Int) -> Int {
        run.classes.isEmpty ? philox.uniform(below: numClasses, stream: Self.labelStream, image: UInt64(image))
            : run.classes[image % run.classes.count]
    }

    public var chunks: Int { (numImages + chunkImages - 1) / chunkImages }

    /// Chunk c's images that are kept (the last chunk may be short).
    public func images(chunk c: Int) -> Range<Int> {
        c * chunkImages..<min((c + 1) * chunkImages, numImages)
    }

    /// Chunks with at least one image missing, in order.
    public func pending(exists: (Int) -> Bool) -> [Int] {
        (0..<chunks).filter { !images(chunk: $0).allSatisfy(exists) }
    }

    /// The sampling run of chunk c: its images' labels, generated from
    /// global index `images(chunk:).lowerBound`. A short last chunk is
    /// rounded up to whole micro-batches for every replica; the extra
    /// images are computed and dropped.
    public func run(chunk c: Int) -> RunConfig {
        let r = images(chunk: c), unit = run.microbatchSize * run.replicas
        let count = (r.count + unit - 1) / unit * unit
        var chunk = run
        chunk.numImages = nil
        chunk.chunkImages = nil
        chunk.classes = (r.lowerBound..<(r.lowerBound + count)).map(label(of:))
        return chunk
    }
}
