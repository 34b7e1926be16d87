import XCTest
@testable import Stages

/// Which timesteps `--sampler X --steps N` evaluates, and the named errors
/// of sampler options that conflict.
final class SamplerSelectionTests: XCTestCase {
    func plan(_ edit: (inout RunConfig) -> Void) throws -> SamplingPlan {
        var run = RunConfig()
        run.checkpoint = "unused.safetensors"
        run.classes = [1]
        edit(&run)
        return try SamplingPlan(run: run, model: DiTConfig(inputSize: 8, hiddenSize: 64, depth: 2, numHeads: 4, numClasses: 10))
    }

    func testDDIMTakesDDIMNRespacingWhenItExists() throws {
        let ddim = try plan { $0.sampler = "ddim"; $0.steps = 10 }
        XCTAssertEqual(ddim.timesteps, [900, 800, 700, 600, 500, 400, 300, 200, 100, 0])
        XCTAssertNil(ddim.run.respacingNote)
        let fallback = try plan { $0.sampler = "ddim"; $0.steps = 37 }
        XCTAssertEqual(fallback.run.effectiveRespacing, "37")
        XCTAssertEqual(fallback.timesteps.first, 999)
        XCTAssertNotNil(fallback.run.respacingNote)
        let explicit = try plan { $0.sampler = "ddim"; $0.steps = 10; $0.respacing = "10" }
        XCTAssertEqual(explicit.timesteps.prefix(3), [999, 888, 777])
        XCTAssertEqual(try plan { $0.steps = 10 }.timesteps.prefix(2), [999, 888], "ddpm keeps respacing N")
        XCTAssertEqual(try plan { $0.sampler = "dpm-solver++"; $0.steps = 5; $0.timestepSpacing = "trailing" }.timesteps,
                       [999, 799, 599, 399, 199])
    }

    func testConflictingOptionsAreNamed() {
        func fails(_ key: String, _ edit: (inout RunConfig) -> Void) {
            XCTAssertThrowsError(try plan(edit), key) { XCTAssertTrue("\($0)".contains("config key \(key)"), "\($0)") }
        }
        fails("respacing") { $0.sampler = "dpm-solver++"; $0.respacing = "ddim10" }
        fails("eta") { $0.sampler = "dpm-solver++"; $0.eta = 0.5 }
        fails("clip_denoised") { $0.sampler = "dpm-solver++"; $0.clipDenoised = true }
        fails("timestep_spacing") { $0.sampler = "dpm-solver++"; $0.timestepSpacing = "cosine" }
        fails("timestep_spacing") { $0.sampler = "ddim"; $0.timestepSpacing = "leading" }
        fails("steps") { $0.sampler = "dpm-solver++"; $0.steps = 0 }
        fails("steps") { $0.sampler = "dpm-solver++"; $0.steps = 1001 }
        fails("sampler") { $0.sampler = "euler" }
    }
}
