import Foundation
import XCTest
@testable import Stages
@testable import Tensors

/// `--sampler dpm-solver++` against diffusers' DPMSolverMultistepScheduler in
/// DiTPipeline's loop (tools/make_dpm_fixtures.py): the same z, guidance on
/// every channel. Tolerance 1e-5·max|ref|, ten times tighter than the
/// acceptance bound.
final class DPMSolverGoldenTests: XCTestCase {
    static var cases: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: Fixtures.directory.path))?
            .filter { $0.hasPrefix("dpm-") && $0.hasSuffix(".safetensors") }.sorted() ?? []
    }

    func testTimestepsAndSigmasMatchDiffusers() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("dpm-schedules.json")))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let schedules = json["schedules"] as! [String: [String: [String: [NSNumber]]]]
        XCTAssertEqual(schedules.count, 3)
        for (name, bySteps) in schedules {
            let spacing = try XCTUnwrap(TimestepSpacing(rawValue: name))
            for (steps, entry) in bySteps {
                let s = try DPMSolverMultistep(steps: Int(steps)!, spacing: spacing)
                XCTAssertEqual(s.timesteps, entry["timesteps"]!.map(\.intValue), "\(name) \(steps)")
                // torch 2.13's float32 sqrt (ATen's vectorised kernel) is not correctly rounded:
                // 4 of the 1000 training sigmas are one ulp off ours.
                for (a, b) in zip(s.sigmas, entry["sigmas"]!.map(\.floatValue)) {
                    XCTAssertLessThanOrEqual(abs(a - b), b.ulp, "\(name) \(steps): sigma \(a) vs torch's \(b)")
                }
                XCTAssertEqual(s.sigmas.count, entry["sigmas"]!.count)
            }
        }
    }

    func testTenLinspaceStepsAndBadInput() throws {
        XCTAssertEqual(try DPMSolverMultistep(steps: 10, spacing: .linspace).timesteps,
                       [999, 899, 799, 699, 599, 500, 400, 300, 200, 100])
        XCTAssertEqual(try DPMSolverMultistep(steps: 10, spacing: .leading).timesteps.first, 900)
        XCTAssertThrowsError(try DPMSolverMultistep(steps: 0, spacing: .linspace))
        XCTAssertThrowsError(try DPMSolverMultistep(steps: 1001, spacing: .trailing))
        XCTAssertThrowsError(try DPMSolverMultistep(steps: 1000, spacing: .leading)) { e in
            XCTAssertTrue("\(e)".contains("repeat timestep"), "\(e)")
        }
    }

    func testDPMSolverMatchesDiffusers() throws {
        XCTAssertGreaterThanOrEqual(Self.cases.count, 8)
        for name in Self.cases {
            let file = try SafeTensorsFile(path: Fixtures.path(name))
            let meta = file.metadata
            let ckpt = try Checkpoint(path: Fixtures.path(meta["model"]!))
            let run = try Fixtures.run(of: file, checkpoint: ckpt)
            let plan = try SamplingPlan(run: run, model: ckpt.config)
            // The fixture has z only: a deterministic sampler must not ask for more.
            let noise = try FileNoise(path: Fixtures.path(name), images: run.classes.count, imageShape: plan.imageShape,
                                      steps: plan.steps, stepNoise: false)
            let position = Layout.Position(replica: 0, stage: 0)
        let runner = try PipelineRunner(plan: plan, position: position, work: plan.work(model: DiT(checkpoint: ckpt), position: position, transport: nil),
                                        transport: nil, noise: noise)
            try runner.run()
            let err = Fixtures.relativeError(runner.latents!.array, try file.tensor("samples").array, floorOne: false)
            XCTAssertLessThanOrEqual(err, 1e-5, "\(name): error \(err)")
            print("\(name): max|a − b| / max|ref| = \(err)")
        }
    }
}
