import Foundation
import XCTest
@testable import Stages
@testable import Tensors

/// `--rng torch --seed K` against a real run of upstream sample.py's code
/// path (tools/make_upstream_seed_fixture.py: upstream models.py and
/// diffusion/, a random checkpoint, p_sample_loop).
final class UpstreamSeedTests: XCTestCase {
    func testRngTorchReproducesUpstreamSamplePy() throws {
        let file = try SafeTensorsFile(path: Fixtures.path("upstream-sample-seed3.safetensors"))
        let meta = file.metadata
        let ckpt = try Checkpoint(path: Fixtures.path(meta["model"]!))
        XCTAssertEqual(ckpt.config.upstreamInitDraws, Int(meta["dit_draws"]!), "DiT(...) draws, as torch counted them")
        XCTAssertEqual(meta["vae_draws"], "0")
        // torch's generator state after upstream DiT_models["DiT-XL/2"](input_size=32) is this
        // many words past manual_seed (checked with get_rng_state, torch 2.13).
        XCTAssertEqual(DiTConfig.preset("DiT-XL/2")!.upstreamInitDraws, 1_350_801_824)
        var run = RunConfig()
        run.checkpoint = ckpt.path
        run.steps = Int(meta["steps"]!)!
        run.cfgScale = Double(meta["cfg_scale"]!)!
        run.classes = try file.integers("y").map { Int($0) }
        run.seed = UInt64(meta["seed"]!)!
        run.rng = "torch"
        run.microbatchSize = 2
        let plan = try SamplingPlan(run: run, model: ckpt.config)
        // torch's normal_fill kernel of the CPU the fixture was recorded on.
        let kernel: TorchGenerator.NormalKernel = meta["cpu_capability"] == "AVX2" ? .avx2 : .scalar
        let noise = TorchNoise(seed: run.seed, images: run.classes.count, imageSize: plan.imageSize, doubledBatch: plan.doubled,
                               skip: ckpt.config.upstreamInitDraws, kernel: kernel)
        let position = Layout.Position(replica: 0, stage: 0)
        let runner = try PipelineRunner(plan: plan, position: position, work: plan.work(model: DiT(checkpoint: ckpt), position: position, transport: nil),
                                        transport: nil, noise: noise)
        try runner.run()
        let err = Fixtures.relativeError(runner.latents!.array, try file.tensor("samples").array, floorOne: false)
        print("upstream sample.py --seed \(run.seed): max|a − b| / max|ref| = \(err)")
        XCTAssertLessThanOrEqual(err, 1e-5)
    }
}
