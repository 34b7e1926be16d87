import Foundation
import XCTest
@testable import Stages
@testable import Tensors

/// The AutoencoderKL decoder against diffusers (tools/make_vae_fixtures.py) on
/// tiny random VAEs, and its weight checks. Tolerance: the issue's
/// 1e-4·max|ref|, tightened tenfold.
final class VAEDecoderTests: XCTestCase {
    static let tolerance: Float = 1e-5

    func io(_ name: String) throws -> SafeTensorsFile { try SafeTensorsFile(path: Fixtures.path("vae-\(name)-io.safetensors")) }

    func decoder(_ name: String) throws -> VAEDecoder {
        let groups = Int(try io(name).metadata["norm_num_groups"] ?? "32")!
        return try VAEDecoder(path: Fixtures.path("vae-\(name).safetensors"), normNumGroups: groups)
    }

    func testDecodeMatchesDiffusers() throws {
        for name in ["tiny", "tiny3"] {
            let vae = try decoder(name), io = try io(name)
            let z = try io.tensor("z"), ref = try io.tensor("out")
            let out = try vae.decode(z)
            XCTAssertEqual(out.shape, ref.shape, name)
            let err = Fixtures.relativeError(out.array, ref.array, floorOne: false)
            XCTAssertLessThanOrEqual(err, Self.tolerance, "\(name): error \(err)·max|ref|")
            // A second call reuses the buffers and gives the same images; so does one image alone.
            XCTAssertEqual(try vae.decode(z).array, out.array, name)
            XCTAssertEqual(try vae.decode(z.rows(0..<1)).array, out.rows(0..<1).array, name)
        }
    }

    func testArchitectureIsReadFromTheShapes() throws {
        let tiny = try decoder("tiny")
        XCTAssertEqual(tiny.config, VAEConfig(latentChannels: 4, blockOutChannels: [32, 64], layersPerBlock: 1, outChannels: 3))
        XCTAssertEqual(tiny.scaleFactor, 2)
        XCTAssertEqual(tiny.latentChannels, 4)
        let tiny3 = try decoder("tiny3")
        XCTAssertEqual(tiny3.config.blockOutChannels, [8, 16, 16])
        XCTAssertEqual(tiny3.scaleFactor, 4)
    }

    // MARK: weight checks, on edited copies of the tiny fixture

    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("vae-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    /// The tiny VAE rewritten with `edit` applied to its (name, tensor) list.
    func editedCopy(_ edit: (inout [(String, Tensor)]) -> Void) throws -> String {
        let file = try SafeTensorsFile(path: Fixtures.path("vae-tiny.safetensors"))
        var tensors = try file.names.map { ($0, try file.tensor($0)) }
        edit(&tensors)
        var writer = SafeTensorsWriter()
        for (name, t) in tensors { writer.add(name, t) }
        let path = scratch.appendingPathComponent("vae.safetensors").path
        try writer.write(to: path)
        return path
    }

    func assertError(_ path: String, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try VAEDecoder(path: path), file: file, line: line) { error in
            let message = (error as? DiTError)?.message ?? "\(error)"
            for part in parts {
                XCTAssertTrue(message.contains(part), "'\(message)' does not mention '\(part)'", file: file, line: line)
            }
        }
    }

    func testOldAttentionNamesAndEncoderKeysAreAccepted() throws {
        let renames = ["to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"]
        let path = try editedCopy { tensors in
            tensors = tensors.map { name, t in
                var n = name
                for (new, old) in renames { n = n.replacingOccurrences(of: ".\(new).", with: ".\(old).") }
                // Older files store the projections as 1×1 convolutions.
                return (n, n != name && t.shape.count == 2 ? t.reshaped(t.shape + [1, 1]) : t)
            }
            tensors += [("encoder.conv_in.weight", Tensor(shape: [32, 3, 3, 3])), ("quant_conv.weight", Tensor(shape: [8, 8, 1, 1]))]
        }
        let z = try io("tiny").tensor("z")
        XCTAssertEqual(try VAEDecoder(path: path).decode(z).array, try decoder("tiny").decode(z).array)
    }

    func testMissingKeyIsNamed() throws {
        let path = try editedCopy { $0.removeAll { $0.0 == "decoder.mid_block.attentions.0.to_k.bias" } }
        assertError(path, contains: [path, "missing tensor 'decoder.mid_block.attentions.0.to_k.bias'", "(64)"])
        let noShortcut = try editedCopy { $0.removeAll { $0.0.hasPrefix("decoder.up_blocks.1.resnets.0.conv_shortcut.") } }
        assertError(noShortcut, contains: ["decoder.up_blocks.1.resnets.0.conv_shortcut.weight", "(32, 64, 1, 1)"])
        let noPostQuant = try editedCopy { $0.removeAll { $0.0.hasPrefix("post_quant_conv.") } }
        assertError(noPostQuant, contains: ["post_quant_conv.weight", "AutoencoderKL"])
    }

    func testWrongShapeIsNamedWithBothShapes() throws {
        let path = try editedCopy { tensors in
            tensors = tensors.map { $0.0 == "decoder.up_blocks.0.resnets.1.conv2.weight" ? ($0.0, Tensor(shape: [64, 64, 1, 1])) : $0 }
        }
        assertError(path, contains: [path, "'decoder.up_blocks.0.resnets.1.conv2.weight'", "(64, 64, 1, 1)", "(64, 64, 3, 3)"])
    }

    func testUnusedKeyIsNamed() throws {
        let path = try editedCopy { $0.append(("decoder.mid_block.attentions.1.to_q.weight", Tensor(shape: [64, 64]))) }
        assertError(path, contains: [path, "unexpected tensor 'decoder.mid_block.attentions.1.to_q.weight'"])
    }

    func testGroupCountMustDivideTheChannels() throws {
        XCTAssertThrowsError(try VAEDecoder(path: Fixtures.path("vae-tiny3.safetensors"))) { error in
            XCTAssertTrue("\(error)".contains("norm_num_groups 32"), "\(error)")
        }
    }

    func testLatentsWithTheWrongChannelsAreRefused() throws {
        let vae = try decoder("tiny")
        XCTAssertThrowsError(try vae.decode(Tensor(shape: [1, 3, 4, 4]))) { error in
            XCTAssertTrue("\(error)".contains("3 channels") && "\(error)".contains("4-channel"), "\(error)")
        }
        XCTAssertThrowsError(try vae.decode(Tensor(shape: [4, 4, 4]))) { error in
            XCTAssertTrue("\(error)".contains("(4, 4, 4)"), "\(error)")
        }
    }
}
