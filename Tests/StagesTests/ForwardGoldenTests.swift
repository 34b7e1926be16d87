import XCTest
@testable import Stages
@testable import Tensors

/// The forward pass against PyTorch reference outputs on tiny models.
/// Tolerance: the 1e-4·max(1, max|ref|), tightened tenfold so that
/// passing here leaves margin on unseen cases.
final class ForwardGoldenTests: XCTestCase {
    static let cases = ["tiny-p2", "tiny-p4-nosigma", "tiny-p2-16-nopos", "custom-odd"]
    static let tolerance: Float = 1e-5

    func load(_ name: String) throws -> (DiT, SafeTensorsFile) {
        let io = try SafeTensorsFile(path: Fixtures.path("fwd-\(name)-io.safetensors"))
        let x = try io.entry("x")
        let ckpt = try Checkpoint(path: Fixtures.path("fwd-\(name).safetensors"), inputSize: x.shape[2])
        return (try DiT(checkpoint: ckpt), io)
    }

    func testForwardMatchesReference() throws {
        try Fixtures.forEachBackend { backend in
        for name in Self.cases {
            let (model, io) = try load(name)
            let x = try io.tensor("x"), t = try io.tensor("t").array, y = try io.integers("y").map { Int($0) }
            let ref = try io.tensor("out")
            // Batches of 1 and of all rows must agree with the reference.
            for batch in [1, x.shape[0]] {
                let out = try model.forward(x: x, t: t, y: y, workspace: Workspace(config: model.config, maxBatch: batch))
                XCTAssertEqual(out.shape, ref.shape, name)
                let err = Fixtures.relativeError(out.array, ref.array)
                XCTAssertLessThanOrEqual(err, Self.tolerance, "\(backend) \(name) batch \(batch): error \(err)")
            }
        }
        }
    }

    func testForwardWithCFGMatchesReference() throws {
        try Fixtures.forEachBackend { backend in
        for name in Self.cases {
            let (model, io) = try load(name)
            let x = try io.tensor("x"), t = try io.tensor("t").array, y = try io.integers("y").map { Int($0) }
            let scale = Float(io.metadata["cfg_scale"] ?? "4")!
            for (mode, key) in [(GuidanceMode.upstream, "out_cfg"), (.allChannels, "out_cfg_all")] {
                let out = try model.forwardWithCFG(x: x, t: t, y: y, scale: scale, mode: mode)
                let err = Fixtures.relativeError(out.array, try io.tensor(key).array)
                XCTAssertLessThanOrEqual(err, Self.tolerance, "\(backend) \(name) \(mode): error \(err)")
            }
        }
        }
    }

    func testArchitectureIsReadFromTheCheckpoint() throws {
        let (model, _) = try load("custom-odd")
        XCTAssertEqual(model.config, DiTConfig(inputSize: 12, patchSize: 2, inChannels: 2, hiddenSize: 48, depth: 2,
                                               numHeads: 3, mlpRatio: 2.5, numClasses: 5, learnSigma: true))
        XCTAssertEqual(model.config.mlpHidden, 120)
    }

    /// The computed position embedding equals the one upstream stores.
    func testComputedPosEmbedMatchesStored() throws {
        let ckpt = try Checkpoint(path: Fixtures.path("fwd-tiny-p2.safetensors"))
        let stored = try ckpt.tensor("pos_embed")
        let computed = PosEmbed.sincos2D(dim: ckpt.config.hiddenSize, gridSize: ckpt.config.gridSize)
        XCTAssertEqual(computed.shape, stored.shape)
        XCTAssertLessThanOrEqual(Fixtures.relativeError(computed.array, stored.array), 1e-7)
    }
}
