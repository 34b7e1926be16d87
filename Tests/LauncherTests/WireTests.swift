import Foundation
import XCTest
@testable import Launcher
@testable import Stages
import Tensors

/// The end-of-run messages over the loopback transport: the replicas'
/// latents gathered on rank 0, and the VAE decoding spread over the ranks.
final class WireTests: XCTestCase {
    /// Three replicas' latents arrive on rank 0 in image order, equal to
    /// one sampler holding every image (noise is keyed by image).
    func testSampleGatherJoinsTheReplicas() throws {
        let ckpt = try TestRun.checkpoint()
        let plan = try SamplingPlan(run: try TestRun.config(replicas: 3), model: ckpt.config)
        let noise = PhiloxNoise(seed: plan.run.seed, imageSize: plan.imageSize)
        let hub = LoopbackHub(worldSize: plan.layout.worldSize)
        var result: Tensor?
        for rank in (0..<plan.layout.worldSize).reversed() {   // sends complete at once, so senders go first
            let p = plan.layout.position(rank: rank)
            let sampler = p.isSampler ? try SamplerState(plan: plan, images: plan.images(replica: p.replica), noise: noise) : nil
            let gathered = try SampleGather.gather(sampler: sampler, plan: plan, transport: hub.transport(rank: rank))
            if rank == 0 { result = gathered } else { XCTAssertNil(gathered) }
        }
        let whole = try SamplerState(plan: plan, images: 0..<5, noise: noise)
        XCTAssertEqual(result?.shape, [5] + plan.imageShape)
        XCTAssertEqual(result?.array.map(\.bitPattern), whole.latents.array.map(\.bitPattern))
    }

    /// A replica that ran another plan (here: more steps) is named, not mixed in.
    func testSampleGatherChecksTheHeader() throws {
        let ckpt = try TestRun.checkpoint()
        let plan = try SamplingPlan(run: try TestRun.config(replicas: 2), model: ckpt.config)
        var other = try TestRun.config(replicas: 2)
        other.steps = 4
        let otherPlan = try SamplingPlan(run: other, model: ckpt.config)
        let noise = PhiloxNoise(seed: 0, imageSize: plan.imageSize)
        let hub = LoopbackHub(worldSize: 2)
        _ = try SampleGather.gather(sampler: try SamplerState(plan: otherPlan, images: otherPlan.images(replica: 1), noise: noise),
                                    plan: otherPlan, transport: hub.transport(rank: 1))
        XCTAssertThrowsError(try SampleGather.gather(sampler: try SamplerState(plan: plan, images: plan.images(replica: 0), noise: noise),
                                                     plan: plan, transport: hub.transport(rank: 0))) {
            XCTAssertTrue("\($0)".contains("rank 0: expected samples step 2"), "\($0)")
        }
    }

    /// Decoding spread over 3 ranks gives rank 0 the images one process decodes, bitwise.
    func testSpreadDecoderMatchesOneProcess() throws {
        let vae = try VAEDecoder(path: TestRun.fixture("vae-tiny.safetensors"))
        let shape = [vae.latentChannels, 4, 4], count = 5
        let latents = Tensor(shape: [count] + shape)
        for i in 0..<latents.count { latents[i] = sin(Float(i) * 0.37) * 0.2 }
        let alone = try SpreadDecoder(decoder: vae, transport: nil).decode(latents, count: count, latentShape: shape)

        let hub = LoopbackHub(worldSize: 3)
        hub.waitLimit = 20
        let results = try TestRun.threads(3) { rank -> Tensor? in
            // A decoder each: a VAEDecoder's buffers serve one caller at a time.
            try SpreadDecoder(decoder: try VAEDecoder(path: vae.path), transport: hub.transport(rank: rank))
                .decode(rank == 0 ? latents : nil, count: count, latentShape: shape)
        }
        XCTAssertEqual(results[0]??.shape, [count, vae.config.outChannels, 4 * vae.scaleFactor, 4 * vae.scaleFactor])
        XCTAssertEqual(results[0]??.array.map(\.bitPattern), alone?.array.map(\.bitPattern))
        XCTAssertNil(results[1] ?? nil)
        XCTAssertNil(results[2] ?? nil)
    }
}
