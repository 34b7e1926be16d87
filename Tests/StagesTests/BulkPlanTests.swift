import XCTest
@testable import Stages
@testable import Tensors

/// Bulk generation: labels and chunks as pure data, and chunked sampling
/// bitwise equal to one run of all images.
final class BulkPlanTests: XCTestCase {
    func model() throws -> DiTConfig { try Checkpoint(path: Fixtures.path("fwd-tiny-p2-16-nopos.safetensors"), inputSize: 16).config }

    func bulkRun(_ n: Int, chunk: Int? = nil, microbatch: Int = 2, replicas: Int = 1, stages: Int = 1) -> RunConfig {
        var run = RunConfig()
        run.checkpoint = Fixtures.path("fwd-tiny-p2-16-nopos.safetensors")
        run.numImages = n
        run.chunkImages = chunk
        run.microbatchSize = microbatch
        run.replicas = replicas
        run.stages = stages
        run.steps = 3
        run.seed = 11
        return run
    }

    func testLabelsDependOnlyOnSeedAndIndex() throws {
        let m = try model()
        let a = try BulkPlan(run: bulkRun(200), model: m), b = try BulkPlan(run: bulkRun(50, chunk: 6), model: m)
        let labels = (0..<200).map(a.label(of:))
        XCTAssertTrue(labels.allSatisfy { (0..<m.numClasses).contains($0) })
        XCTAssertGreaterThan(Set(labels).count, m.numClasses / 2, "labels should spread over the classes")
        XCTAssertEqual((0..<50).map(b.label(of:)), Array(labels.prefix(50)))
        var other = bulkRun(200); other.seed = 12
        XCTAssertNotEqual((0..<200).map(try BulkPlan(run: other, model: m).label(of:)), labels)
        var given = bulkRun(7); given.classes = [3, 1, 4]
        XCTAssertEqual((0..<7).map(try BulkPlan(run: given, model: m).label(of:)), [3, 1, 4, 3, 1, 4, 3])
    }

    func testChunksRoundUpToWholeMicrobatchesPerReplica() throws {
        let plan = try BulkPlan(run: bulkRun(10, chunk: 4, microbatch: 2, replicas: 2), model: try model())
        XCTAssertEqual(plan.chunks, 3)
        XCTAssertEqual((0..<3).map(plan.images(chunk:)), [0..<4, 4..<8, 8..<10])
        XCTAssertEqual(plan.run(chunk: 2).classes, [8, 9, 10, 11].map(plan.label(of:)))
        XCTAssertNil(plan.run(chunk: 2).numImages)
        XCTAssertEqual(plan.pending { $0 != 5 && $0 != 9 }, [1, 2])
        XCTAssertEqual(plan.pending { _ in true }, [])
        // Default chunk: replicas × micro-batch × max(4, 2 × stages).
        XCTAssertEqual(try BulkPlan(run: bulkRun(100, microbatch: 2, replicas: 2, stages: 3), model: try model()).chunkImages, 24)
        XCTAssertThrowsError(try BulkPlan(run: bulkRun(10, chunk: 3), model: try model())) {
            XCTAssertTrue("\($0)".contains("chunk_images"), "\($0)")
        }
        var torch = bulkRun(10); torch.rng = "torch"
        XCTAssertThrowsError(try BulkPlan(run: torch, model: try model())) { XCTAssertTrue("\($0)".contains("num_images"), "\($0)") }
    }

    /// Image i is bitwise the same whether made in one run or in chunks
    /// over 2 stages.
    func testChunkedImagesEqualOneRun() throws {
        let ckpt = try Checkpoint(path: Fixtures.path("fwd-tiny-p2-16-nopos.safetensors"), inputSize: 16)
        let bulk = try BulkPlan(run: bulkRun(7, chunk: 4, stages: 2), model: ckpt.config)
        var whole = bulkRun(7)
        whole.numImages = nil
        whole.classes = (0..<7).map(bulk.label(of:))
        let reference = try PipelineTests.runLoopback(checkpoint: ckpt, run: whole)
        var chunked: [Float] = []
        let size = reference.count / 7
        for c in 0..<bulk.chunks {
            let images = try PipelineTests.runLoopback(checkpoint: ckpt, run: bulk.run(chunk: c),
                                                       imageOffset: bulk.images(chunk: c).lowerBound)
            chunked += images.prefix(bulk.images(chunk: c).count * size)
        }
        XCTAssertEqual(chunked.count, reference.count)
        XCTAssertEqual(zip(chunked, reference).filter { $0.0.bitPattern != $0.1.bitPattern }.count, 0)
    }
}
