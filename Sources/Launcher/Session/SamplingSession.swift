import Foundation
import Stages
import Tensors

/// What one rank keeps for every sampling run of a job: its slice of the
/// model (loaded once), the transport and the VAE decoder. A single run and
/// each chunk of a bulk run are `sample` calls on the same session.
final class SamplingSession {
    let world: MPIWorld
    let transport: Transport?
    let position: Layout.Position
    let model: DiT?
    let decoder: SpreadDecoder?

    init(world: MPIWorld, transport: Transport?, position: Layout.Position, model: DiT?, decoder: SpreadDecoder?) {
        self.world = world
        self.transport = transport
        self.position = position
        self.model = model
        self.decoder = decoder
    }

    /// Runs the plan's schedule on this rank; world rank 0 returns every
    /// image's final latents in order (nil elsewhere).
    func sample(plan: SamplingPlan, noise: NoiseSource?, sink: ActivationSink? = nil, trace: Trace? = nil,
                simulatedBlockSeconds: Double = 0, onUpdate: ((Int, Int) throws -> Void)? = nil) throws -> Tensor? {
        let work = plan.work(model: model, position: position, transport: transport, simulatedBlockSeconds: simulatedBlockSeconds)
        let runner = try PipelineRunner(plan: plan, position: position, work: work, transport: transport,
                                        noise: noise, sink: sink, trace: trace)
        runner.onUpdate = onUpdate
        try runner.run()
        return try SampleGather.gather(sampler: runner.sampler, plan: plan, transport: transport)
    }

    /// Decodes rank 0's latents on every rank (see `SpreadDecoder`); nil
    /// without a decoder, and on ranks other than 0.
    func decode(_ samples: Tensor?, plan: SamplingPlan) throws -> Tensor? {
        guard let decoder else { return nil }
        return try decoder.decode(samples, count: plan.run.classes.count, latentShape: plan.imageShape)
    }
}
