import Foundation
import Stages
import Tensors

/// What one rank keeps for every sampling run of a job: its slice of the
/// model (loaded once), the transport and the VAE decoder. A single run and
/// each chunk of a bulk run are `sample` calls on the same session.
final class SamplingSession {
    let world: MPIWorld
    let transport: Transport?
    let stage: Int
    let replica: Int
    let model: DiT?
    let decoder: SpreadDecoder?

    init(world: MPIWorld, transport: Transport?, stage: Int, replica: Int, model: DiT?, decoder: SpreadDecoder?) {
        self.world = world
        self.transport = transport
        self.stage = stage
        self.replica = replica
        self.model = model
        self.decoder = decoder
    }

    /// Runs the plan's schedule on this rank; world rank 0 returns every
    /// image's final latents in order (nil elsewhere).
    func sample(plan: SamplingPlan, noise: NoiseSource?, sink: ActivationSink? = nil, trace: Trace? = nil,
                simulatedBlockSeconds: Double = 0, onUpdate: ((Int, Int) throws -> Void)? = nil) throws -> Tensor? {
        let runner = try PipelineRunner(plan: plan, stage: stage, replica: replica, model: model, transport: transport,
                                        noise: noise, sink: sink, trace: trace, simulatedBlockSeconds: simulatedBlockSeconds)
        runner.onUpdate = onUpdate
        try runner.run()
        return try gather(runner: runner, plan: plan)
    }

    /// Every replica's stage 0 sends its latents to world rank 0, which
    /// returns all images in order (nil elsewhere).
    func gather(runner: PipelineRunner, plan: SamplingPlan) throws -> Tensor? {
        let tag = 3
        if world.rank != 0 {
            if runner.stage == 0, let latents = runner.latents, let transport {
                let r = try transport.postSend(latents.data, bytes: latents.count * 4, to: 0, tag: tag)
                try transport.wait([r])
            }
            return nil
        }
        let all = Tensor(shape: [plan.run.classes.count] + plan.imageShape)
        all.data.update(from: runner.latents!.data, count: runner.latents!.count)
        for r in 1..<plan.replicas {
            let images = plan.images(replica: r)
            let dst = all.data + images.lowerBound * plan.imageSize
            let id = try transport!.postReceive(dst, bytes: images.count * plan.imageSize * 4,
                                                from: plan.rank(replica: r, stage: 0), tag: tag)
            try transport!.wait([id])
        }
        return all
    }

    /// Decodes rank 0's latents on every rank (see `SpreadDecoder`); nil
    /// without a decoder, and on ranks other than 0.
    func decode(_ samples: Tensor?, plan: SamplingPlan) throws -> Tensor? {
        guard let decoder else { return nil }
        return try decoder.decode(samples, count: plan.run.classes.count, latentShape: plan.imageShape)
    }
}
