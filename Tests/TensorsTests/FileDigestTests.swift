import Foundation
import XCTest
@testable import Tensors

/// File sha256 (swift-crypto, read in 4 MiB pieces) against the FIPS 180-2
/// vectors and sha256sum.
final class FileDigestTests: XCTestCase {
    func testKnownVectorsAndSha256sum() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("digest-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func digest(_ bytes: [UInt8]) throws -> String {
            let path = dir + "/f"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return try FileDigest.sha256(ofFile: path)
        }
        XCTAssertEqual(try digest([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(try digest(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(try digest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(try digest([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")

        // Past two 4 MiB pieces, with a ragged end.
        let path = dir + "/big"
        try Data((0..<(9 << 20) + 7).map { UInt8(truncatingIfNeeded: ($0 &* 2654435761) >> 13) }).write(to: URL(fileURLWithPath: path))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sha256sum", path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let line = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(try FileDigest.sha256(ofFile: path), String(line.prefix(64)))

        XCTAssertThrowsError(try FileDigest.sha256(ofFile: dir + "/none")) {
            XCTAssertTrue("\($0)".contains("cannot open for hashing"), "\($0)")
        }
    }
}
