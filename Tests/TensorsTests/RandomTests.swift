import Foundation
import XCTest
@testable import Tensors

final class TorchGeneratorTests: XCTestCase {
    func testAVX2KernelMatchesTorchBitForBit() throws {
        try checkFixture(kernel: .avx2, prefix: "avx2")
    }

    func testScalarKernelMatchesTorchBitForBit() throws {
        try checkFixture(kernel: .scalar, prefix: "default")
    }

    func testRandnIntoContinuesTheSameStreamAsRandn() {
        let a = TorchGenerator(seed: 3)
        let expected = a.randn(40) + a.randn(7)
        let b = TorchGenerator(seed: 3)
        var got = [Float](repeating: .nan, count: 47)
        got.withUnsafeMutableBufferPointer { buffer in
            b.randn(into: UnsafeMutableBufferPointer(rebasing: buffer[0..<40]))
            b.randn(into: UnsafeMutableBufferPointer(rebasing: buffer[40...]))
        }
        XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern))
    }

    /// Replays every `{prefix}.seed{S}.{group}.{k}` stream recorded by tools/make_rng_fixture.py.
    private func checkFixture(kernel: TorchGenerator.NormalKernel, prefix: String) throws {
        let tensors = try Self.loadFixture()
        var groups: [String: (seed: UInt64, calls: [Int: [Float]])] = [:]
        for (name, values) in tensors {
            let parts = name.split(separator: ".")
            guard parts.count == 4, parts[0] == prefix else { continue }
            let seed = try XCTUnwrap(UInt64(parts[1].dropFirst("seed".count)), name)
            let call = try XCTUnwrap(Int(parts[3]), name)
            groups["\(parts[1]).\(parts[2])", default: (seed, [:])].calls[call] = values
        }
        XCTAssertGreaterThan(groups.count, 40, "fixture has too few \(prefix) groups")
        var checked = 0
        for (label, group) in groups.sorted(by: { $0.key < $1.key }) {
            let generator = TorchGenerator(seed: group.seed, kernel: kernel)
            for call in 0..<group.calls.count {
                let expected = try XCTUnwrap(group.calls[call], "\(label) is missing call \(call)")
                let got = generator.randn(expected.count)
                let mismatches = zip(got, expected).filter { $0.bitPattern != $1.bitPattern }
                let worst = mismatches.map { abs($0 - $1) }.max() ?? 0
                XCTAssertEqual(mismatches.count, 0,
                               "\(prefix) \(label) call \(call) (n=\(expected.count)): max |diff| \(worst)")
                checked += expected.count
            }
        }
        XCTAssertGreaterThan(checked, 25_000)
    }

    /// Minimal safetensors reader (F32 only) so this test needs nothing else from the target.
    private static func loadFixture() throws -> [String: [Float]] {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/torch-randn.safetensors")
        let bytes = [UInt8](try Data(contentsOf: url))
        let headerLength = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
        let header = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)])) as? [String: Any])
        var tensors: [String: [Float]] = [:]
        for (name, entry) in header where name != "__metadata__" {
            let info = try XCTUnwrap(entry as? [String: Any])
            XCTAssertEqual(info["dtype"] as? String, "F32", name)
            let offsets = try XCTUnwrap(info["data_offsets"] as? [Int])
            let start = 8 + headerLength + offsets[0]
            tensors[name] = stride(from: start, to: 8 + headerLength + offsets[1], by: 4).map { i in
                Float(bitPattern: (0..<4).reduce(0) { $0 | UInt32(bytes[i + $1]) << (8 * $1) })
            }
        }
        return tensors
    }
}

final class PhiloxNormalTests: XCTestCase {
    /// Random123 tests/kat_vectors, "philox4x32 10" lines: counter, key, expected output.
    func testBlockFunctionMatchesRandom123KnownAnswers() {
        let vectors: [(SIMD4<UInt32>, SIMD2<UInt32>, SIMD4<UInt32>)] = [
            (SIMD4(0, 0, 0, 0), SIMD2(0, 0),
             SIMD4(0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8)),
            (SIMD4(repeating: .max), SIMD2(repeating: .max),
             SIMD4(0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd)),
            (SIMD4(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), SIMD2(0xa409_3822, 0x299f_31d0),
             SIMD4(0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1)),
        ]
        for (counter, key, expected) in vectors {
            XCTAssertEqual(PhiloxNormal.block(counter: counter, key: key), expected)
        }
    }

    func testMomentsOfOneHundredThousandDraws() {
        let values = PhiloxNormal(seed: 42).normals(count: 100_000, stream: 0, image: 0).map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
        // Standard errors are 0.0032 (mean) and 0.0045 (variance): these are > 6σ bounds.
        XCTAssertEqual(mean, 0, accuracy: 0.02)
        XCTAssertEqual(variance, 1, accuracy: 0.03)
        XCTAssertTrue(values.allSatisfy(\.isFinite))
    }

    func testImageNoiseIsIndependentOfBatchCompositionAndLength() {
        let generator = PhiloxNormal(seed: 7)
        let alone = generator.normals(count: 33, stream: 2, image: 5)
        // A batch of images 3...7 generated in reverse order into one buffer.
        var batch = [Float](repeating: .nan, count: 5 * 33)
        batch.withUnsafeMutableBufferPointer { buffer in
            for image in (3...7).reversed() {
                let slot = (image - 3) * 33
                generator.fill(UnsafeMutableBufferPointer(rebasing: buffer[slot..<(slot + 33)]),
                               stream: 2, image: UInt64(image))
            }
        }
        XCTAssertEqual(Array(batch[66..<99]).map(\.bitPattern), alone.map(\.bitPattern))
        let longer = generator.normals(count: 64, stream: 2, image: 5)
        XCTAssertEqual(Array(longer.prefix(33)).map(\.bitPattern), alone.map(\.bitPattern))
        XCTAssertNotEqual(generator.normals(count: 33, stream: 3, image: 5), alone)
        XCTAssertNotEqual(generator.normals(count: 33, stream: 2, image: 6), alone)
        XCTAssertNotEqual(PhiloxNormal(seed: 8).normals(count: 33, stream: 2, image: 5), alone)
    }

    func testUniformLabelsCoverTheRange() {
        let p = PhiloxNormal(seed: 5)
        let draws = (0..<10_000).map { p.uniform(below: 10, stream: 7, image: UInt64($0)) }
        XCTAssertTrue(draws.allSatisfy { (0..<10).contains($0) })
        for k in 0..<10 { XCTAssertEqual(Double(draws.filter { $0 == k }.count), 1000, accuracy: 150) }
        XCTAssertEqual(p.uniform(below: 1000, stream: 7, image: 3), p.uniform(below: 1000, stream: 7, image: 3))
    }
}
