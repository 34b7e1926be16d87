import Foundation
import XCTest
@testable import Launcher
@testable import Stages
import Tensors

/// Dump files written by `HDF5Sink` read back by `HDF5DumpSource` as the
/// in-process twin `MemoryDump` recorded them; per-rank files merged by
/// `dit dump merge` equal the one-stage file.
final class DumpFileTests: XCTestCase {
    var scratch: URL!
    override func setUpWithError() throws { scratch = try TestRun.scratch() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    func path(_ name: String) -> String { scratch.appendingPathComponent(name).path }

    let selection = DumpSelection(steps: [0, 1, 2], points: Set(DumpPoint.allCases), images: [0, 1, 3, 4])

    /// A sink writing `dump`'s rank file, with the root attributes the reader uses.
    func sink(_ dump: DumpConfig, rank: Int, stage: Int, maxPendingBytes: Int = 64 << 20) throws -> HDF5Sink {
        try HDF5Sink(dump: dump, selection: selection, rank: rank, stage: stage,
                     rootAttributes: [("model_config", .string(#"{"depth": 4}"#)), ("rank", .int(rank)), ("stage", .int(stage)),
                                      ("compress", .string(dump.compress ? "gzip" : "none"))],
                     checkpointToHash: nil, maxPendingBytes: maxPendingBytes)
    }

    /// A one-stage run dumped to a rank file and to the memory twin.
    func oneStage(_ name: String, maxPendingBytes: Int = 64 << 20) throws -> (file: HDF5DumpSource, memory: MemoryDump) {
        let dump = DumpConfig(path: path(name))
        let memory = MemoryDump(name: "memory", selection: selection)
        try TestRun.pipeline(try TestRun.config()) { rank, stage in
            TeeSink(try self.sink(dump, rank: rank, stage: stage, maxPendingBytes: maxPendingBytes), memory)
        }
        return (try HDF5DumpSource(dump.path), memory)
    }

    func testRankFileReadsBackAsTheMemoryTwin() throws {
        let (file, memory) = try oneStage("one.h5")
        XCTAssertEqual(file.files.map(\.path), [path("one.rank0.h5")])
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("one.rank0.h5.partial")))
        XCTAssertEqual(memory.shapes.count, 3 * 4 * (5 + 3 * 4))   // steps × kept images × (points + blocks × (output, adaLN, attn, mlp))
        try assertSameDump(file, memory)

        // The layout of docs/dump-format.md: one group per step, images 0, 1, 3, 4 (2 not selected,
        // the padding row of micro-batch 2 dropped), [cond; uncond] rows, the blocks stacked.
        let f = file.files[0]
        XCTAssertEqual(try f.children("/"), ["step_0", "step_1", "step_2"])
        XCTAssertEqual(try f.attributes("/step_1")["step"], .int(1))
        XCTAssertNotNil(try f.attributes("/step_1")["timestep"]?.int)
        XCTAssertEqual(try f.children("/step_1"), ["mb_0"])
        XCTAssertEqual(try f.attributes("/step_1/mb_0"), ["images": .ints([0, 1, 3, 4]), "doubled": .int(1), "microbatch": .int(0),
                                                         "microbatches": .ints([0, 0, 1, 2])])
        XCTAssertEqual(try f.children("/step_1/mb_0"), (0..<3).flatMap { b in ["adaLN", "attn", "mlp"].map { "block_\(b)_\($0)" } }
                                                        + ["blocks_0", "c", "embed", "final", "model_out", "x_t"])
        XCTAssertEqual(try f.shape("/step_1/mb_0/block_1_adaLN"), [8, 6 * 64])
        XCTAssertEqual(try f.shape("/step_1/mb_0/block_1_attn"), [8, 16, 64])
        XCTAssertEqual(try f.shape("/step_1/mb_0/blocks_0"), [3, 8, 16, 64])
        XCTAssertEqual(try f.shape("/step_1/mb_0/x_t"), [4, 3, 16, 16])
        XCTAssertEqual(try f.shape("/step_1/mb_0/c"), [8, 64])
    }

    func testStepsOverThePendingLimitAreWrittenAsTheyComeAndReadTheSame() throws {
        let (file, memory) = try oneStage("split.h5", maxPendingBytes: 1)
        try assertSameDump(file, memory)
        let groups = Set(try file.files[0].children("/step_2"))
        XCTAssertTrue(["mb_0", "mb_0_1", "mb_1", "mb_2"].allSatisfy(groups.contains), "\(groups.sorted())")
    }

    func testMergedRankFilesEqualTheOneStageFile() throws {
        let (one, memory) = try oneStage("one.h5")
        var dump = DumpConfig(path: path("two.h5"))
        dump.compress = true
        try TestRun.pipeline(try TestRun.config(stages: 2)) { rank, stage in try self.sink(dump, rank: rank, stage: stage) }
        let two = try HDF5DumpSource(dump.path)
        XCTAssertEqual(two.files.map(\.path), [path("two.rank0.h5"), path("two.rank1.h5")])
        try assertSameDump(two, memory)

        try two.writeMerged(to: path("merged.h5"))
        let merged = try HDF5DumpSource(path("merged.h5"))
        try assertSameDump(merged, one)
        let root = try merged.files[0].attributes("/")
        XCTAssertEqual(root["layout"], .string("merged"))
        XCTAssertEqual(root["merged_from"], .string(two.files.map(\.path).joined(separator: ",")))
        XCTAssertNil(root["rank"])
        let key = DumpKey(step: 2, point: .block, block: 2, image: 4)
        let attrs = try merged.files[0].attributes(DumpLayout.mergedDataset(key))
        XCTAssertEqual(attrs["point"], .string("block"))
        XCTAssertEqual(attrs["block"], .int(2))
        XCTAssertEqual(attrs["doubled"], .int(1))
        XCTAssertEqual(attrs["rank"], .int(1))
        XCTAssertEqual(attrs["stage"], .int(1))
        XCTAssertEqual(attrs["microbatch"], .int(2))
        XCTAssertEqual(try merged.files[0].shape(DumpLayout.mergedDataset(key)), [2, 16, 64])

        // Merging the merged file again changes nothing.
        try merged.writeMerged(to: path("again.h5"))
        try assertSameDump(try HDF5DumpSource(path("again.h5")), one)
    }

    func testRankPathsAndTheirResolution() throws {
        XCTAssertEqual(DumpLayout.rankPath("/d/x.h5", rank: 3), "/d/x.rank3.h5")
        XCTAssertEqual(DumpLayout.rankPath("/d/x", rank: 0), "/d/x.rank0.h5")
        XCTAssertEqual(DumpLayout.rankFilePattern("/d/x.hdf5"), "x.rankN.hdf5")
        XCTAssertEqual(DumpLayout.rank(ofFile: "x.rank12.h5", dump: "/d/x.h5")?.rank, 12)
        XCTAssertEqual(DumpLayout.rank(ofFile: "x.rank1.h5.partial", dump: "/d/x.h5")?.partial, true)
        XCTAssertNil(DumpLayout.rank(ofFile: "x.rank1.json", dump: "/d/x.h5"))
        XCTAssertNil(DumpLayout.rank(ofFile: "y.rank1.h5", dump: "/d/x.h5"))
        for name in ["d.rank0.h5", "d.rank1.h5.partial", "d.rank1.h5.tmp", "d.rank2.h5.partial", "d.rank2.h5"] {
            FileManager.default.createFile(atPath: path(name), contents: Data())
        }
        XCTAssertEqual(try HDF5DumpSource.resolve(path("d.h5")), ["d.rank0.h5", "d.rank1.h5.partial", "d.rank2.h5"].map(path))
        XCTAssertThrowsError(try HDF5DumpSource.resolve(path("e.h5"))) {
            XCTAssertTrue("\($0)".contains("no rank files e.rankN.h5"), "\($0)")
        }
    }
}
