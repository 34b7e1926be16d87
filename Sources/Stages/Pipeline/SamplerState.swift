import Tensors

/// A replica's sampler state on its sampler rank: the latents of its images
/// and the noise source, advanced one micro-batch at a time by the guided
/// model output.
public final class SamplerState {
    let plan: SamplingPlan
    /// The replica's images (global indices).
    public let images: Range<Int>
    public let latents: Tensor
    let noise: NoiseSource
    let noiseBuffer: Tensor
    /// dpm-solver++: each image's previous data prediction.
    let history: Tensor?

    init(plan: SamplingPlan, images: Range<Int>, noise: NoiseSource) throws {
        (self.plan, self.images, self.noise) = (plan, images, noise)
        latents = Tensor(shape: [images.count] + plan.imageShape)
        noiseBuffer = Tensor(shape: [plan.imageSize])
        if case .dpmSolver = plan.sampler { history = Tensor(shape: [images.count, plan.imageSize]) } else { history = nil }
        for (j, image) in images.enumerated() { try noise.initial(image: image, into: latents.data + j * plan.imageSize) }
    }

    /// Real (not padding) images of micro-batch m.
    func realImages(microbatch m: Int) -> Int { min(plan.microbatchSize, images.count - m * plan.microbatchSize) }

    /// x_t of micro-batch m, padded to the micro-batch size with its last image.
    func copyInput(microbatch m: Int, into x: UnsafeMutablePointer<Float>) {
        let b = plan.microbatchSize, n = realImages(microbatch: m)
        for j in 0..<b {
            (x + j * plan.imageSize).update(from: latents.data + (m * b + min(j, n - 1)) * plan.imageSize, count: plan.imageSize)
        }
    }

    /// x_{t-1} from the (guided) model output of micro-batch m's images at step k.
    func step(_ k: Int, microbatch m: Int, output: UnsafePointer<Float>) throws {
        let i = plan.steps - 1 - k, b = plan.microbatchSize, timestep = plan.timesteps[k]
        for j in 0..<realImages(microbatch: m) {
            let local = m * b + j
            // Deterministic samplers draw nothing after z; their noise term is σ = 0 times a zero buffer.
            if !plan.sampler.isDeterministic { try noise.step(k, image: images.lowerBound + local, into: noiseBuffer.data) }
            let x = latents.data + local * plan.imageSize
            let eps = output + j * plan.outputSize
            try SamplingError.check(eps, count: plan.outputSize, key: DumpKey(step: k, point: .model_out, image: images.lowerBound + local),
                                    timestep: timestep, origin: "in the model output (the weights or the guidance scale overflow)")
            switch plan.sampler {
            case .ddim(let d, let eta):
                d.ddimStep(x: x, modelOutput: eps, count: plan.imageSize, step: i, eta: eta,
                           noise: noiseBuffer.pointer, clipDenoised: plan.run.clipDenoised)
            case .ddpm(let d):
                d.ddpmStep(x: x, modelOutput: eps, count: plan.imageSize, step: i, noise: noiseBuffer.pointer,
                           clipDenoised: plan.run.clipDenoised)
            case .dpmSolver(let s):
                s.step(x: x, eps: eps, history: history!.data + local * plan.imageSize, count: plan.imageSize, step: k)
            }
            try SamplingError.check(x, count: plan.imageSize, key: DumpKey(step: k + 1, point: .x_t, image: images.lowerBound + local),
                                    timestep: timestep, origin: "made by the \(plan.run.sampler) update of step \(k)")
        }
    }
}
