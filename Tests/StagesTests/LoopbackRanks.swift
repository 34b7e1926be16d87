import Foundation
@testable import Stages
@testable import Tensors

/// Every rank of a layout in one process over a `LoopbackHub`.
enum LoopbackRanks {
    static func runner(rank: Int, checkpoint: Checkpoint, plan: SamplingPlan, hub: LoopbackHub, imageOffset: Int = 0,
                       sink: ActivationSink? = nil, noise makeNoise: (() throws -> NoiseSource)? = nil) throws -> PipelineRunner {
        let p = plan.layout.position(rank: rank)
        let model = try DiT(checkpoint: checkpoint, blocks: plan.partition.ranges[p.stage], embedders: p.stage == 0,
                            finalLayer: p.stage == plan.stages - 1)
        let noise: NoiseSource? = !p.isSampler ? nil : try makeNoise?()
            ?? OffsetNoise(PhiloxNoise(seed: plan.run.seed, imageSize: plan.imageSize), offset: imageOffset)
        let transport = hub.transport(rank: rank)
        return try PipelineRunner(plan: plan, position: p, work: plan.work(model: model, position: p, transport: transport),
                                  transport: transport, noise: noise, sink: sink)
    }

    /// Runs every rank on its own thread (a Ulysses exchange waits inside a
    /// forward, so ranks cannot take turns in one thread); returns the
    /// samples in image order.
    static func run(checkpoint: Checkpoint, run: RunConfig, noise: (() throws -> NoiseSource)? = nil) throws -> [Float] {
        let plan = try SamplingPlan(run: run, model: checkpoint.config)
        let hub = LoopbackHub(worldSize: plan.layout.worldSize)
        let runners = try (0..<plan.layout.worldSize).map {
            try runner(rank: $0, checkpoint: checkpoint, plan: plan, hub: hub, noise: noise)
        }
        let errors = ErrorBox()
        let group = DispatchGroup()
        for r in runners {
            let thread = Thread {
                do { try r.run() } catch { errors.add(error) }
                group.leave()
            }
            thread.stackSize = 8 << 20
            group.enter()
            thread.start()
        }
        group.wait()
        if let e = errors.first { throw e }
        return runners.compactMap(\.latents).flatMap(\.array)
    }

    final class ErrorBox: @unchecked Sendable {
        private var errors: [Error] = []
        private let lock = NSLock()
        func add(_ e: Error) { lock.lock(); errors.append(e); lock.unlock() }
        var first: Error? { lock.lock(); defer { lock.unlock() }; return errors.first }
    }
}
