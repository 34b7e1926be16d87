import Foundation
import XCTest
@testable import Stages

/// Dump selection parsing, the comparison's first divergence, and 1-stage
/// against 4-stage dumps over the loopback transport.
final class DumpTests: XCTestCase {
    func testMissingKeysTakeDefaults() throws {
        let d = try DumpConfig(ConfigNode.parse("path: out/d.h5\n"))
        XCTAssertEqual(d, DumpConfig(path: "out/d.h5"))
        XCTAssertEqual(d.steps, "first,last")
        let e = try DumpConfig(ConfigNode.parse("path: x.h5\nsteps: [0, 5]\npoints: block,final\ncompress: true\n"))
        XCTAssertEqual(e.steps, "0,5")
        XCTAssertEqual(try DumpSelection.parsePoints(e.points), [.block, .final])
        XCTAssertTrue(e.compress)
        XCTAssertThrowsError(try RunConfig.parse("dump:\n  steps: all\n")) {
            XCTAssertTrue("\($0)".contains("dump.path"), "\($0)")
        }
    }

    func testStepSpecs() throws {
        func steps(_ s: String, _ n: Int = 10) throws -> [Int] { try DumpSelection.StepSpec(s).resolve(stepCount: n).sorted() }
        XCTAssertEqual(try steps("all"), Array(0..<10))
        XCTAssertEqual(try steps("first"), [0])
        XCTAssertEqual(try steps("last"), [9])
        XCTAssertEqual(try steps("first,last"), [0, 9])
        XCTAssertEqual(try steps("0,5,9"), [0, 5, 9])
        XCTAssertEqual(try steps("2-4"), [2, 3, 4])
        XCTAssertEqual(try steps("every:4"), [0, 4, 8])
        XCTAssertEqual(try steps("every:4,last"), [0, 4, 8, 9])
        XCTAssertThrowsError(try steps("12")) { XCTAssertTrue("\($0)".contains("step 12 is out of range"), "\($0)") }
        XCTAssertThrowsError(try steps("every:0"))
        XCTAssertThrowsError(try steps("5-2"))
        XCTAssertThrowsError(try steps("sometimes")) { XCTAssertTrue("\($0)".contains("every:K"), "\($0)") }
    }

    func testUnknownPointIsNamed() {
        XCTAssertThrowsError(try DumpSelection.parsePoints(["block", "blok"])) {
            XCTAssertTrue("\($0)".contains("unknown point 'blok'") && "\($0)".contains("model_out"), "\($0)")
        }
        XCTAssertThrowsError(try DumpSelection.parsePoints(["attn"])) {
            XCTAssertTrue("\($0)".contains("unknown point 'attn'") && "\($0)".contains("block_internals"), "\($0)")
        }
        XCTAssertEqual(try DumpSelection.parsePoints(["block_internals"]), [.adaLN, .attn, .mlp])
        XCTAssertEqual(try DumpSelection.parsePoints(["all"]), [.x_t, .embed, .c, .block, .final, .model_out])
        XCTAssertEqual(try DumpSelection.parsePoints(["all", "block_internals"]), Set(DumpPoint.allCases))
    }

    /// Block internals are named after their block, parse back, and sort
    /// inside it: adaLN, attn, mlp, then the block's output.
    func testBlockInternalNames() {
        let keys = [DumpKey(step: 0, point: .block, block: 3, image: 0), DumpKey(step: 0, point: .mlp, block: 3, image: 0),
                    DumpKey(step: 0, point: .attn, block: 3, image: 0), DumpKey(step: 0, point: .adaLN, block: 4, image: 0),
                    DumpKey(step: 0, point: .adaLN, block: 3, image: 0), DumpKey(step: 0, point: .final, image: 0),
                    DumpKey(step: 0, point: .block, block: 2, image: 1)]
        XCTAssertEqual(keys.sorted().map(\.pointName),
                       ["block_2", "block_3_adaLN", "block_3_attn", "block_3_mlp", "block_3", "block_4_adaLN", "final"])
        for key in keys {
            let (p, b) = DumpKey.point(named: key.pointName)!
            XCTAssertEqual(p, key.point); XCTAssertEqual(b, key.block)
        }
        XCTAssertEqual(keys[2].description, "step 0, block 3 attn, image 0")
        for bad in ["attn", "block_3_", "block_3_final", "block_3_block", "block_x_attn", "blocks_3"] {
            XCTAssertNil(DumpKey.point(named: bad), bad)
        }
    }

    func testBlockInternalsRefusedUnderSequenceParallel() throws {
        var r = RunConfig()
        r.sequenceParallel = 2
        r.dump = DumpConfig(path: "d.h5")
        r.dump!.points = ["block_internals"]
        XCTAssertThrowsError(try r.validateParallel(model: nil)) {
            XCTAssertTrue("\($0)".contains("sequence_parallel: 1"), "\($0)")
        }
    }

    func run(stages: Int, _ ckpt: Checkpoint, _ run: RunConfig) throws -> [MemoryDump] {
        var r = run
        r.stages = stages
        let selection = DumpSelection(steps: Set(0..<r.steps), points: Set(DumpPoint.allCases))
        var sinks: [MemoryDump] = []
        _ = try PipelineTests.runLoopback(checkpoint: ckpt, run: r) { rank in
            let s = MemoryDump(name: "\(stages)-stage rank \(rank)", selection: selection,
                                     attributes: ["model_config": "{\"depth\": 4}"])
            sinks.append(s)
            return s
        }
        return sinks
    }

    func testOneAndFourStagesDumpTheSame() throws {
        let ckpt = try Checkpoint(path: Fixtures.path("fwd-tiny-p2-16-nopos.safetensors"), inputSize: 16)   // depth 4
        var r = RunConfig()
        r.checkpoint = ckpt.path
        r.steps = 3
        r.classes = [1, 2, 3, 4, 5]
        r.microbatchSize = 2
        let one = MemoryDump.merged(try run(stages: 1, ckpt, r)), four = MemoryDump.merged(try run(stages: 4, ckpt, r))
        XCTAssertEqual(one.shapes.count, 3 * 5 * (5 + 4 * 4))   // 5 points, and per block its output, adaLN, attn and mlp
        let cmp = try DumpComparison(one, four, rtol: 0, atol: 0)
        XCTAssertNil(cmp.firstFailure)
        XCTAssertEqual(cmp.differences.count, one.shapes.count)
        XCTAssertTrue(cmp.differences.allSatisfy { $0.maxAbs == 0 })

        // Each block's output is its input plus the gated branches its internals hold.
        let (t, d) = (64, 64)
        for key in one.shapes.keys where key.point == .block {
            let x = try one.read(key.block == 0 ? DumpKey(step: key.step, point: .embed, image: key.image)
                                               : DumpKey(step: key.step, point: .block, block: key.block! - 1, image: key.image))
            func inside(_ p: DumpPoint) throws -> [Float] { try one.read(DumpKey(step: key.step, point: p, block: key.block, image: key.image)) }
            let mod = try inside(.adaLN), attn = try inside(.attn), mlp = try inside(.mlp), out = try one.read(key)
            XCTAssertEqual(one.shapes[DumpKey(step: key.step, point: .adaLN, block: key.block, image: key.image)], [2, 6 * d])
            for i in 0..<out.count {
                let row = i / (t * d), j = i % d
                let gateMSA = mod[row * 6 * d + 2 * d + j], gateMLP = mod[row * 6 * d + 5 * d + j]
                XCTAssertEqual(out[i], x[i] + gateMSA * attn[i] + gateMLP * mlp[i], accuracy: 1e-5, "\(key) at \(i)")
            }
        }

        // A change in block 2 at step 1 is the first divergence, whatever follows.
        let key = DumpKey(step: 1, point: .block, block: 2, image: 3)
        func perturb(_ key: DumpKey, _ change: (inout [Float]) -> Void) throws {
            var v = try four.read(key)
            change(&v)
            four.set(v, shape: four.shapes[key]!, for: key)
        }
        try perturb(key) { $0[7] += 0.5 }
        try perturb(DumpKey(step: 2, point: .embed, image: 0)) { $0[0] = .nan }
        let bad = try DumpComparison(one, four, rtol: 1e-5, atol: 1e-6)
        XCTAssertEqual(bad.firstFailure?.key, key)
        XCTAssertEqual(bad.firstFailure?.worstIndex, 7)
        XCTAssertEqual(bad.firstFailure?.maxAbs ?? 0, 0.5, accuracy: 1e-3)

        let other = MemoryDump(name: "other", selection: one.selection, attributes: ["model_config": "{\"depth\": 3}"])
        XCTAssertThrowsError(try DumpComparison(one, other, rtol: 0, atol: 0)) {
            XCTAssertTrue("\($0)".contains("different models"), "\($0)")
        }
    }
}
