import XCTest
@testable import Stages
@testable import Tensors

/// Schedules as data, and N-stage runs over the in-process transport against
/// the one-stage run.
final class PipelineTests: XCTestCase {
    func testActionStringsRoundTrip() {
        let actions: [Action] = [.forward(step: 7, microbatch: 3), .send(step: 7, microbatch: 3, to: 1),
                                 .receive(step: 0, microbatch: 12, from: 27), .update(step: 249, microbatch: 0)]
        XCTAssertEqual(actions.map(\.description), ["F3@7", "S3@7>1", "R12@0<27", "U0@249"])
        XCTAssertEqual(actions.map { Action($0.description) }, actions)
        XCTAssertNil(Action("X1@2"))
        XCTAssertNil(Action("S1@2"))
    }

    func testSchedulesCheckAndFillOncePerRun() throws {
        for (s, m, k) in [(1, 1, 1), (1, 3, 4), (2, 1, 3), (2, 2, 5), (4, 4, 6), (4, 2, 3), (7, 9, 4), (28, 28, 2)] {
            let schedule = Schedule(stages: s, microbatches: m, steps: k)
            XCTAssertNoThrow(try schedule.check(), "S=\(s) M=\(m) K=\(k)")
            let spans = try schedule.simulate(cost: { _ in 1 })
            XCTAssertEqual(spans.count, s * m * k)
            if m >= s {
                // Filled once per run: makespan K·M + S − 1, bubble as predicted.
                XCTAssertEqual(spans.map(\.end).max(), Double(k * m + s - 1), "S=\(s) M=\(m) K=\(k)")
                XCTAssertEqual(Schedule.bubble(of: spans, stages: s), schedule.predictedBubble, accuracy: 1e-12)
            }
        }
    }

    func testShallowReturnBuffersStallTheRing() throws {
        // M = 2S: up to M − S model outputs wait at stage 0 while it feeds
        // the rest of the step. With only two buffers there (the old
        // runner), the last stage blocks on its sends and the stall stays.
        let schedule = Schedule(stages: 8, microbatches: 16, steps: 10)
        let shallow = try schedule.simulate(capacity: { _, _ in 2 + Schedule.sendSlots }, cost: { _ in 1 })
        XCTAssertGreaterThan(Schedule.bubble(of: shallow, stages: 8), schedule.predictedBubble + 0.01)
        let runner = try schedule.simulate(cost: { _ in 1 })
        XCTAssertEqual(Schedule.bubble(of: runner, stages: 8), schedule.predictedBubble, accuracy: 1e-12)
        XCTAssertEqual(schedule.receiveDepth(stage: 0), 16)
        XCTAssertEqual(schedule.receiveDepth(stage: 3), 2)
    }

    func testCheckerFindsFaults() {
        // Stage 1 expects micro-batch 1 first: mismatched order.
        let swapped = Schedule(stages: 2, microbatches: 2, steps: 1, actions: [
            [.forward(step: 0, microbatch: 0), .send(step: 0, microbatch: 0, to: 1), .forward(step: 0, microbatch: 1),
             .send(step: 0, microbatch: 1, to: 1), .receive(step: 0, microbatch: 0, from: 1), .update(step: 0, microbatch: 0),
             .receive(step: 0, microbatch: 1, from: 1), .update(step: 0, microbatch: 1)],
            [.receive(step: 0, microbatch: 1, from: 0), .forward(step: 0, microbatch: 1), .send(step: 0, microbatch: 1, to: 0),
             .receive(step: 0, microbatch: 0, from: 0), .forward(step: 0, microbatch: 0), .send(step: 0, microbatch: 0, to: 0)],
        ])
        XCTAssertThrowsError(try swapped.check()) { XCTAssertTrue("\($0)".contains("next message from stage 0 is micro-batch 0")) }
        // Stage 0 waits for output before sending anything: deadlock.
        let deadlock = Schedule(stages: 2, microbatches: 1, steps: 1, actions: [
            [.receive(step: 0, microbatch: 0, from: 1), .forward(step: 0, microbatch: 0), .send(step: 0, microbatch: 0, to: 1),
             .update(step: 0, microbatch: 0)],
            [.receive(step: 0, microbatch: 0, from: 0), .forward(step: 0, microbatch: 0), .send(step: 0, microbatch: 0, to: 0)],
        ])
        XCTAssertThrowsError(try deadlock.check()) { XCTAssertTrue("\($0)".contains("deadlock")) }
    }

    func testFLOPsOfXL2() {
        let f = FLOPs(DiTConfig.preset("DiT-XL/2")!)
        XCTAssertEqual(f.forward, 237_242_843_136)   // docs/performance.md: 237.2 GFLOP per image
        XCTAssertEqual(f.forward, f.embed + 28 * f.block + f.final)
    }

    func testAutoPartitionBalancesAndExplicitIsChecked() throws {
        let xl = DiTConfig.preset("DiT-XL/2")!
        let p = try Partition(.auto, config: xl, stages: 4)
        XCTAssertEqual(p.ranges.map(\.count).reduce(0, +), 28)
        XCTAssertEqual(p.ranges.first?.lowerBound, 0)
        XCTAssertEqual(p.ranges.map(\.count), [7, 7, 7, 7])
        XCTAssertEqual(try Partition(.blocks([10, 18]), config: xl, stages: 2).ranges, [0..<10, 10..<28])
        XCTAssertThrowsError(try Partition(.blocks([10, 17]), config: xl, stages: 2))
        XCTAssertThrowsError(try Partition(.auto, config: xl, stages: 29)) { XCTAssertTrue("\($0)".contains("29 stages")) }
    }

    /// Runs every rank of a stages × replicas job cooperatively in one
    /// thread over a LoopbackHub; returns the samples in image order.
    static func runLoopback(checkpoint: Checkpoint, run: RunConfig, imageOffset: Int = 0,
                            sink: (Int) -> ActivationSink? = { _ in nil }) throws -> [Float] {
        let plan = try SamplingPlan(run: run, model: checkpoint.config)
        let hub = LoopbackHub(worldSize: plan.layout.worldSize)
        let runners = try (0..<plan.layout.worldSize).map { rank in
            try LoopbackRanks.runner(rank: rank, checkpoint: checkpoint, plan: plan, hub: hub, imageOffset: imageOffset, sink: sink(rank))
        }
        while !runners.allSatisfy(\.isDone) {
            var progressed = false
            for runner in runners where !runner.isDone { progressed = try runner.advance() || progressed }
            if !progressed { throw DiTError("loopback run deadlocked") }
        }
        return runners.compactMap(\.latents).flatMap(\.array)
    }

    func testStagesAndReplicasAreBitwiseIdentical() throws {
        let ckpt = try Checkpoint(path: Fixtures.path("fwd-tiny-p2-16-nopos.safetensors"), inputSize: 16)   // depth 4
        var run = RunConfig()
        run.checkpoint = ckpt.path
        run.steps = 6
        run.classes = [1, 2, 3, 4, 5]
        run.seed = 7
        run.microbatchSize = 2
        for cfg in [4.0, 1.0] {
            run.cfgScale = cfg
            run.stages = 1; run.replicas = 1
            let reference = try Self.runLoopback(checkpoint: ckpt, run: run)
            XCTAssertTrue(reference.allSatisfy(\.isFinite))
            for (stages, replicas) in [(2, 1), (4, 1), (2, 2), (1, 3), (3, 1)] {
                run.stages = stages; run.replicas = replicas
                let result = try Self.runLoopback(checkpoint: ckpt, run: run)
                let mismatches = zip(result, reference).filter { $0.0.bitPattern != $0.1.bitPattern }.count
                let maxDiff = zip(result, reference).map { abs($0.0 - $0.1) }.max() ?? 0
                XCTAssertEqual(result.count, reference.count)
                XCTAssertEqual(mismatches, 0, "cfg \(cfg): \(stages) stages × \(replicas) replicas: \(mismatches) values differ from 1 stage (max \(maxDiff))")
            }
        }
    }

    /// Image i depends only on (seed, i): a prefix of the classes gives the
    /// same images.
    func testImagesDoNotDependOnTheBatch() throws {
        let ckpt = try Checkpoint(path: Fixtures.path("fwd-tiny-p2.safetensors"))
        var run = RunConfig()
        run.checkpoint = ckpt.path
        run.steps = 4
        run.seed = 7
        run.classes = [1, 2, 3]
        let three = try Self.runLoopback(checkpoint: ckpt, run: run)
        run.classes = [1, 2, 3, 4, 5]
        let five = try Self.runLoopback(checkpoint: ckpt, run: run)
        XCTAssertTrue(Array(five.prefix(three.count)) == three, "the first three images changed with the batch")
    }
}
