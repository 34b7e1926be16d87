import XCTest
import Tensors
@testable import Stages

/// The DiT loader names the file, the key and the fix for a missing, unused
/// or misshaped tensor.
final class CheckpointKeyTests: XCTestCase {
    static let tiny = DiTConfig(inputSize: 8, patchSize: 2, hiddenSize: 64, depth: 2, numHeads: 4, numClasses: 10)
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: scratch) }

    /// A random tiny checkpoint with its tensors edited.
    func editedCopy(_ edit: (inout [(String, Tensor)]) -> Void) throws -> String {
        let path = scratch.appendingPathComponent("dit.safetensors").path
        try RandomCheckpoint.write(config: Self.tiny, to: path)
        let file = try SafeTensorsFile(path: path)
        var tensors = try file.names.map { ($0, try file.tensor($0)) }
        edit(&tensors)
        var writer = SafeTensorsWriter(metadata: file.metadata)
        for (name, t) in tensors { writer.add(name, t) }
        let edited = scratch.appendingPathComponent("edited.safetensors").path
        try writer.write(to: edited)
        return edited
    }

    func assertError(_ path: String, contains parts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Checkpoint(path: path), file: file, line: line) { error in
            let message = "\(error)"
            for part in parts {
                XCTAssertTrue(message.contains(part), "'\(message)' does not mention '\(part)'", file: file, line: line)
            }
        }
    }

    func testTheUneditedCopyLoads() throws {
        XCTAssertEqual(try Checkpoint(path: try editedCopy { _ in }).config, Self.tiny)
    }

    func testMissingKeyIsNamedWithItsShape() throws {
        let path = try editedCopy { $0.removeAll { $0.0 == "blocks.1.mlp.fc2.bias" } }
        assertError(path, contains: [path, "missing tensor 'blocks.1.mlp.fc2.bias'", "expected shape (64)", "2-block DiT of hidden size 64"])
    }

    func testWrongShapeIsNamedWithBothShapes() throws {
        let path = try editedCopy { tensors in
            tensors = tensors.map { $0.0 == "blocks.1.attn.proj.weight" ? ($0.0, Tensor(shape: [64, 63])) : $0 }
        }
        assertError(path, contains: [path, "tensor 'blocks.1.attn.proj.weight' has shape (64, 63) but the model needs (64, 64)"])
    }

    func testUnusedKeysAreNamedWithTheFix() throws {
        let one = try editedCopy { $0.append(("blocks.0.extra", Tensor(shape: [3]))) }
        assertError(one, contains: [one, "unexpected tensor 'blocks.0.extra' not used by a 2-block DiT",
                                    "remove it or convert the file with tools/convert_checkpoint.py"])
        let two = try editedCopy { $0 += [("blocks.0.extra", Tensor(shape: [3])), ("ema.step", Tensor(shape: [1]))] }
        assertError(two, contains: ["unexpected tensors 'blocks.0.extra', 'ema.step'", "remove them"])
    }
}
