import Foundation
import XCTest
@testable import Tensors

/// The streamed .npz, plain and zip64, as numpy reads it.
final class NPZWriterTests: XCTestCase {
    func write(_ path: String, zip64: Bool) throws -> [UInt8] {
        let shape = [3, 5, 7, 3]
        let values = (0..<shape.reduce(1, *)).map { UInt8(($0 * 37 + 11) % 256) }
        let npz = try NPZWriter(path: path, shape: shape, forceZip64: zip64)
        for row in stride(from: 0, to: values.count, by: 105) { try npz.append(Array(values[row..<(row + 105)])) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "nothing at the final path before finish()")
        try npz.finish()
        return values
    }

    func testNumpyReadsPlainAndZip64() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("npz-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var expected: [UInt8] = []
        for zip64 in [false, true] { expected = try write("\(dir)/\(zip64 ? "z64" : "plain").npz", zip64: zip64) }
        let z64 = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/z64.npz"))
        XCTAssertNotNil(z64.range(of: Data([0x50, 0x4B, 0x06, 0x06])), "zip64 end of central directory record")

        let script = """
        import sys, zipfile, numpy as np
        for name in ("plain", "z64"):
            path = sys.argv[1] + "/" + name + ".npz"
            assert zipfile.ZipFile(path).testzip() is None, name + ": CRC"
            a = np.load(path)["arr_0"]
            assert a.dtype == np.uint8 and a.shape == (3, 5, 7, 3), (name, a.dtype, a.shape)
            sys.stdout.write(",".join(map(str, a.reshape(-1)[:8].tolist() + [int(a.sum())])) + "\\n")
        """
        func python(_ args: [String]) throws -> (status: Int32, out: String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3"] + args
            let out = Pipe()
            p.standardOutput = out
            p.standardError = Pipe()
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }
        guard let probe = try? python(["-c", "import numpy"]), probe.status == 0 else { throw XCTSkip("python3 with numpy not available") }
        let (status, text) = try python(["-c", script, dir])
        XCTAssertEqual(status, 0, "numpy could not read the npz: \(text)")
        let line = expected.prefix(8).map(String.init).joined(separator: ",") + ",\(expected.map(Int.init).reduce(0, +))"
        XCTAssertEqual(text, line + "\n" + line + "\n")
    }

    func testWrongByteCountIsAnErrorAndLeavesNothing() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("short-\(getpid()).npz").path
        let npz = try NPZWriter(path: path, shape: [2, 2])
        try npz.append([1, 2, 3])
        XCTAssertThrowsError(try npz.append([4, 5]))
        XCTAssertThrowsError(try npz.finish()) { XCTAssertTrue("\($0)".contains("3 array bytes appended but the shape needs 4"), "\($0)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }
}
