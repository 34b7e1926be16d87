import Tensors

/// Where a sampling run's Gaussian noise comes from. Values for image i
/// never depend on which other images are generated with it, on the
/// micro-batching or on the process count.
public protocol NoiseSource: AnyObject {
    /// z, the starting latent of image i (`imageSize` values).
    func initial(image: Int, into out: UnsafeMutablePointer<Float>) throws
    /// The noise of loop step k (k = 0 is the first step, at the highest
    /// timestep) for image i. Steps are asked for in non-decreasing order.
    func step(_ k: Int, image: Int, into out: UnsafeMutablePointer<Float>) throws
}

/// The default: counter-based Philox, keyed by the seed, with stream 0 for z
/// and stream k + 1 for step k, and the image index in the counter.
public final class PhiloxNoise: NoiseSource {
    let philox: PhiloxNormal
    let imageSize: Int

    public init(seed: UInt64, imageSize: Int) {
        philox = PhiloxNormal(seed: seed)
        self.imageSize = imageSize
    }

    public func initial(image: Int, into out: UnsafeMutablePointer<Float>) {
        philox.fill(.init(start: out, count: imageSize), stream: 0, image: UInt64(image))
    }

    public func step(_ k: Int, image: Int, into out: UnsafeMutablePointer<Float>) {
        philox.fill(.init(start: out, count: imageSize), stream: UInt64(k + 1), image: UInt64(image))
    }
}

/// The stream of `torch.manual_seed(seed)` on CPU in the order upstream
/// sample.py draws it: `skip` words drawn by building the model (see
/// `DiTConfig.upstreamInitDraws`), z = randn(N, C, H, W), then at every
/// step randn_like(x) for the whole batch x — 2N rows with guidance (the
/// conditional rows first), N without. Every replica replays the whole
/// stream and keeps its own images, so the split does not matter.
public final class TorchNoise: NoiseSource {
    let generator: TorchGenerator
    let imageSize: Int
    let images: Int
    let rowsPerStep: Int
    let z: [Float]
    var current: (step: Int, values: [Float])

    public init(seed: UInt64, images: Int, imageSize: Int, doubledBatch: Bool, skip: Int = 0,
                kernel: TorchGenerator.NormalKernel = .avx2) {
        generator = TorchGenerator(seed: seed, kernel: kernel)
        generator.discard(skip)
        self.imageSize = imageSize
        self.images = images
        rowsPerStep = doubledBatch ? 2 * images : images
        z = generator.randn(images * imageSize)
        current = (-1, [])
    }

    public func initial(image: Int, into out: UnsafeMutablePointer<Float>) {
        z.withUnsafeBufferPointer { out.update(from: $0.baseAddress! + image * imageSize, count: imageSize) }
    }

    public func step(_ k: Int, image: Int, into out: UnsafeMutablePointer<Float>) throws {
        guard k >= current.step else {
            throw DiTError("torch noise: step \(k) asked for after step \(current.step); the torch stream can only move forward")
        }
        while current.step < k { current = (current.step + 1, generator.randn(rowsPerStep * imageSize)) }
        current.values.withUnsafeBufferPointer { out.update(from: $0.baseAddress! + image * imageSize, count: imageSize) }
    }
}

/// Noise injected from a safetensors file: `z` (N, C, H, W) and `noise`
/// (steps, N, C, H, W), used as given. Deterministic samplers (DDIM with
/// eta 0, DPM-Solver++) need only `z`; a `noise` tensor is ignored there.
public final class FileNoise: NoiseSource {
    let z: Tensor
    let noise: Tensor?
    let imageSize: Int
    let images: Int

    public init(path: String, images: Int, imageShape: [Int], steps: Int, stepNoise: Bool = true) throws {
        let file = try SafeTensorsFile(path: path)
        imageSize = imageShape.reduce(1, *)
        self.images = images
        let zShape = [images] + imageShape, noiseShape = [steps, images] + imageShape
        guard let ze = file.entries["z"] else {
            throw DiTError("\(path): no tensor 'z'; expected z \(zShape.shapeDescription)" + (stepNoise ? " and noise \(noiseShape.shapeDescription)" : ""))
        }
        guard ze.shape == zShape else {
            throw DiTError("\(path): z has shape \(ze.shape.shapeDescription) but this run needs \(zShape.shapeDescription) (\(plural(images, "image")))")
        }
        z = try file.tensor("z")
        guard stepNoise else { noise = nil; return }
        guard let ne = file.entries["noise"] else { throw DiTError("\(path): no tensor 'noise'; expected noise \(noiseShape.shapeDescription) (only ddim with eta 0 and dpm-solver++ need z alone)") }
        guard ne.shape.count == 2 + imageShape.count, ne.shape[1...] == noiseShape[1...] else {
            throw DiTError("\(path): noise has shape \(ne.shape.shapeDescription) but this run needs \(noiseShape.shapeDescription)")
        }
        guard ne.shape[0] >= steps else {
            throw DiTError("\(path): noise holds \(plural(ne.shape[0], "step")) but the run takes \(steps); noise must be (steps, N, C, H, W) = \(noiseShape.shapeDescription)")
        }
        noise = try file.tensor("noise")
    }

    public func initial(image: Int, into out: UnsafeMutablePointer<Float>) {
        out.update(from: z.data + image * imageSize, count: imageSize)
    }

    public func step(_ k: Int, image: Int, into out: UnsafeMutablePointer<Float>) throws {
        guard let noise else { throw DiTError("file noise: step \(k) asked for, but a deterministic sampler read only z") }
        out.update(from: noise.data + (k * images + image) * imageSize, count: imageSize)
    }
}
