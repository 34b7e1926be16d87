import Foundation
import XCTest
@testable import Tensors

final class SafeTensorsTests: XCTestCase {
    var dir: URL!

    override func setUp() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// A file from a raw JSON header and data bytes.
    func raw(_ name: String, header: String, data: [UInt8], declaredLength: UInt64? = nil) -> String {
        var bytes = Data()
        let h = Array(header.utf8)
        withUnsafeBytes(of: (declaredLength ?? UInt64(h.count)).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: h)
        bytes.append(contentsOf: data)
        let p = path(name)
        try! bytes.write(to: URL(fileURLWithPath: p))
        return p
    }

    func testRoundTripWithMetadata() throws {
        var w = SafeTensorsWriter(metadata: ["num_heads": "4"])
        w.add("a", Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, -6]))
        w.add("y", shape: [3], .i64([0, 7, 1000]))
        try w.write(to: path("m.safetensors"))
        let f = try SafeTensorsFile(path: path("m.safetensors"))
        XCTAssertEqual(f.metadata["num_heads"], "4")
        XCTAssertEqual(try f.tensor("a").array, [1, 2, 3, 4, 5, -6])
        XCTAssertEqual(try f.tensor("a").shape, [2, 3])
        XCTAssertEqual(try f.integers("y"), [0, 7, 1000])
        XCTAssertEqual(try f.tensor("y").array, [0, 7, 1000])
    }

    func testHalfAndBFloat16Convert() throws {
        // 1.5 in F16 is 0x3E00; -2.0 in BF16 is 0xC000.
        let p = raw("h.safetensors", header: #"{"h":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[2,4]}}"#,
                    data: [0x00, 0x3E, 0x00, 0xC0])
        let f = try SafeTensorsFile(path: p)
        XCTAssertEqual(try f.tensor("h").array, [1.5])
        XCTAssertEqual(try f.tensor("b").array, [-2.0])
    }

    func assertRejects(_ p: String, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile(path: p), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(fragment), "'\(error)' lacks '\(fragment)'", file: file, line: line)
        }
    }

    func testRejectsBadFiles() {
        assertRejects(path("missing.safetensors"), "no such file")
        let short = path("short"); try! Data([1, 2, 3]).write(to: URL(fileURLWithPath: short))
        assertRejects(short, "not a safetensors file")
        assertRejects(raw("notjson", header: "hello world", data: []), "not JSON")
        assertRejects(raw("trunc", header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: [0, 0, 0, 0]), "truncated")
        assertRejects(raw("len", header: "{}", data: [], declaredLength: 1 << 40), "truncated")
        assertRejects(raw("dtype", header: #"{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}"#, data: [0]), "dtype F8_E4M3")
        assertRejects(raw("size", header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), "needs 8 bytes")
        assertRejects(raw("overlap", header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#,
                          data: [UInt8](repeating: 0, count: 8)), "overlap")
    }
}
