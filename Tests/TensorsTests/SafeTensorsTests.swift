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
        assertRejects(raw("notjson", header: "hello world", data: []), "JSON object starting with '{'")
        assertRejects(raw("notjson2", header: "{hello world", data: []), "not JSON")
        assertRejects(raw("trunc", header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: [0, 0, 0, 0]), "truncated")
        assertRejects(raw("len", header: "{}", data: [], declaredLength: 1 << 20), "truncated")
        assertRejects(raw("dtype", header: #"{"a":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}}"#, data: [0]), "dtype F8")
        assertRejects(raw("size", header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), "needs 8 bytes")
        assertRejects(raw("overlap", header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}"#,
                          data: [UInt8](repeating: 0, count: 8)), "overlap")
    }

    func testRejectsWhatTheSpecForbids() {
        let a = #""a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#
        assertRejects(raw("dup", header: "{\(a),\(a)}", data: [0, 0, 0, 0]), "duplicate key 'a'")
        assertRejects(raw("tail", header: "{\(a)}", data: [UInt8](repeating: 0, count: 20)), "16 unindexed bytes at the end")
        assertRejects(raw("gap", header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
                          data: [UInt8](repeating: 0, count: 12)), "4 unindexed bytes between tensors 'a' and 'b'")
        assertRejects(raw("frac", header: #"{"a":{"dtype":"F32","shape":[0.5],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), "non-negative integers")
        assertRejects(raw("overflow", header: #"{"a":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), "64-bit")
        assertRejects(raw("huge", header: "{}", data: [], declaredLength: 1 << 63), "100 MB")
        let nan = try! SafeTensorsFile(path: raw("nan", header: "{\(a)}", data: [0x00, 0x00, 0xC0, 0x7F]))
        XCTAssertThrowsError(try nan.tensor("a")) { XCTAssertTrue("\($0)".contains("'a' (1) holds nan at [0]"), "\($0)") }
    }

    func testValidLayoutsLoad() throws {
        // Buffer order differs from header order, the data start is unaligned
        // (header of 61 bytes plus 2 spaces of padding), an F8 tensor is indexed but not read.
        let header = #"{"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F16","shape":[2],"data_offsets":[4,8]}}  "#
        let p = raw("order", header: header, data: [0x00, 0x00, 0x80, 0x3F, 0x00, 0x3C, 0x00, 0xC0])
        let f = try SafeTensorsFile(path: p)
        XCTAssertEqual(try f.tensor("b").array, [1])
        XCTAssertEqual(try f.tensor("a").array, [1, -2])
        XCTAssertThrowsError(try f.integers("a")) { XCTAssertTrue("\($0)".contains("must be an integer dtype"), "\($0)") }
        let f8 = try SafeTensorsFile(path: raw("f8", header: #"{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}"#, data: [0]))
        XCTAssertThrowsError(try f8.tensor("a")) { XCTAssertTrue("\($0)".contains("dtype F8_E4M3"), "\($0)") }
    }

    func testNonFiniteMatchesNaive() {
        var rng = SystemRandomNumberGenerator()
        for count in [0, 1, 15, 16, 17, 1000, 4099] {
            var values = (0..<count).map { _ in Float.random(in: -1e30...1e30, using: &rng) }
            XCTAssertNil(NonFinite.firstIndex(values, count: count))
            for bad in [Float.nan, .infinity, -.infinity] where count > 0 {
                let i = Int.random(in: 0..<count, using: &rng), j = Int.random(in: 0..<count, using: &rng)
                values[i] = bad; values[j] = bad
                XCTAssertEqual(NonFinite.firstIndex(values, count: count), min(i, j))
                XCTAssertEqual(NonFinite.firstIndex(values, count: count), NonFinite.firstIndexNaive(values, count: count))
                values[i] = 0; values[j] = 0
            }
        }
    }
}
