import Foundation
import XCTest
@testable import Launcher
@testable import Stages
import Tensors

/// samples.h5 and the single-dataset outputs through the one writer and reader.
final class SamplesFileTests: XCTestCase {
    var scratch: URL!
    override func setUpWithError() throws { scratch = try TestRun.scratch() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    func testSamplesFileRoundTrip() throws {
        let ckpt = try TestRun.checkpoint()
        let plan = try SamplingPlan(run: try TestRun.config(), model: ckpt.config)
        let samples = Tensor(shape: [5] + plan.imageShape)
        for i in 0..<samples.count { samples[i] = Float(i) * 0.25 - 3 }
        let path = scratch.appendingPathComponent("samples.h5").path
        let attributes = SamplesFile.attributes(plan: plan, checkpoint: ckpt, sha256: "abc", decoded: false)
        try SamplesFile.write(to: path, samples: samples, images: nil, plan: plan, attributes: attributes)

        let f = try H5Reader(path: path)
        XCTAssertEqual(try f.children("/"), ["labels", "samples", "timesteps"])
        XCTAssertEqual(try f.shape("/samples"), [5] + plan.imageShape)
        XCTAssertEqual(try f.floats("/samples").map(\.bitPattern), samples.array.map(\.bitPattern))
        XCTAssertEqual(try f.integers("/labels"), [1, 2, 3, 4, 5])
        XCTAssertEqual(try f.integers("/timesteps"), plan.timesteps)
        let root = try f.attributes("/")
        XCTAssertEqual(root.count, attributes.count)
        for (key, value) in attributes { XCTAssertEqual(root[key], value, key) }
        XCTAssertEqual(root["format"], .string("dit-pipe samples"))
        XCTAssertEqual(root["steps"], .int(3))
        XCTAssertEqual(root["cfg_scale"], .double(4))
    }

    /// No object times in the headers: the same contents give the same bytes.
    func testSameContentsSameBytes() throws {
        let ckpt = try TestRun.checkpoint()
        let plan = try SamplingPlan(run: try TestRun.config(), model: ckpt.config)
        let samples = Tensor(shape: [2] + plan.imageShape)
        let attributes = SamplesFile.attributes(plan: plan, checkpoint: ckpt, sha256: "abc", decoded: false)
        let path = scratch.appendingPathComponent("samples.h5").path
        var bytes: [Data] = []
        for _ in 0..<2 {
            try SamplesFile.write(to: path, samples: samples, images: nil, plan: plan, attributes: attributes)
            bytes.append(try Data(contentsOf: URL(fileURLWithPath: path)))
            sleep(1)   // HDF5's times have 1 s resolution
        }
        XCTAssertEqual(bytes[0], bytes[1])
    }

    func testAtomicWriteLeavesNothingOnFailure() throws {
        let out = Tensor(shape: [2, 3])
        let good = scratch.appendingPathComponent("out.h5").path
        try H5Writer.write(atomically: good, format: .earliest) { try $0.write("/out", out) }
        XCTAssertEqual(try H5Reader(path: good).shape("/out"), [2, 3])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), ["out.h5"])

        let missing = scratch.appendingPathComponent("none/out.h5").path
        XCTAssertThrowsError(try H5Writer.write(atomically: missing, format: .earliest) { try $0.write("/out", out) }) {
            XCTAssertTrue("\($0)".hasPrefix("\(missing): cannot create the HDF5 file"), "\($0)")
        }
        struct Stop: Error {}
        XCTAssertThrowsError(try H5Writer.write(atomically: scratch.appendingPathComponent("b.h5").path, format: .dump) { _ in throw Stop() })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path), ["out.h5"])
    }
}
