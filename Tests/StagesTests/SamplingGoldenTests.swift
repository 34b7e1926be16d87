import Foundation
import XCTest
@testable import Stages
@testable import Tensors

/// Sampling against the PyTorch reference of upstream p_sample_loop /
/// ddim_sample_loop with injected noise. Tolerance 1e-5·max|ref|, ten times
/// tighter than the acceptance bound.
final class SamplingGoldenTests: XCTestCase {
    static let cases = ["ddpm10-cfg4", "ddpm25-cfg1", "ddim10-cfg4", "ddim25-cfg1.5"].flatMap { c in
        ["tiny-p2", "tiny-p4-nosigma"].map { "sample-\($0)-\(c).safetensors" }
    }

    func testRespacingMatchesUpstream() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("schedules.json")))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
        for (spec, entry) in json {
            let d = try GaussianDiffusion(respacing: spec, learnSigma: true)
            XCTAssertEqual(d.timestepMap, (entry["timestep_map"] as! [NSNumber]).map(\.intValue), spec)
            let betas = (entry["betas"] as! [NSNumber]).map(\.doubleValue)
            XCTAssertEqual(d.betas.count, betas.count, spec)
            for (a, b) in zip(d.betas, betas) { XCTAssertEqual(a, b, accuracy: 1e-15 * max(1, abs(b)), spec) }
        }
        XCTAssertThrowsError(try Respacing.timesteps(1000, "ddim999"))
        XCTAssertThrowsError(try Respacing.timesteps(1000, "1001"))
    }

    func run(_ name: String, stages: Int = 1) throws -> (result: Tensor, reference: Tensor) {
        let file = try SafeTensorsFile(path: Fixtures.path(name))
        let meta = file.metadata
        let ckpt = try Checkpoint(path: Fixtures.path(meta["model"]!))
        let run = try Fixtures.run(of: file, checkpoint: ckpt)
        let plan = try SamplingPlan(run: run, model: ckpt.config)
        let noise = try FileNoise(path: Fixtures.path(name), images: run.classes.count, imageShape: plan.imageShape, steps: plan.steps)
        let position = Layout.Position(replica: 0, stage: 0)
        let runner = try PipelineRunner(plan: plan, position: position, work: plan.work(model: DiT(checkpoint: ckpt), position: position, transport: nil),
                                        transport: nil, noise: noise)
        try runner.run()
        return (runner.latents!, try file.tensor("samples"))
    }

    func testSamplersMatchReference() throws {
        try Fixtures.forEachBackend { backend in
            for name in Self.cases {
                let (result, reference) = try run(name)
                let err = Fixtures.relativeError(result.array, reference.array, floorOne: false)
                XCTAssertLessThanOrEqual(err, 1e-5, "\(backend) \(name): error \(err)")
            }
        }
    }
}
