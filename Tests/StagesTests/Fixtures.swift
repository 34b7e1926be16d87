import Foundation
@testable import Stages
import Tensors

/// Paths of committed fixtures (written by tools/make_fixtures.py from the
/// PyTorch reference).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// max|a − b| over max(1, max|ref|): the forward tolerance measure.
    static func relativeError(_ a: [Float], _ ref: [Float], floorOne: Bool = true) -> Float {
        precondition(a.count == ref.count, "\(a.count) vs \(ref.count) values")
        let scale = max(floorOne ? 1 : 0, ref.map(abs).max() ?? 0)
        return (zip(a, ref).map { abs($0 - $1) }.max() ?? 0) / scale
    }

    /// The run a sampling fixture records in its metadata (sampler, steps,
    /// respacing or timestep spacing, eta, guidance) with its labels `y`, in
    /// micro-batches of 2 — what every sampling golden test replays.
    static func run(of file: SafeTensorsFile, checkpoint: Checkpoint) throws -> RunConfig {
        let meta = file.metadata
        var run = RunConfig()
        run.checkpoint = checkpoint.path
        run.sampler = meta["sampler"]!
        run.steps = Int(meta["steps"]!)!
        run.respacing = meta["respacing"]
        run.timestepSpacing = meta["timestep_spacing"]
        run.eta = meta["eta"].map { Double($0)! } ?? 0
        run.cfgScale = Double(meta["cfg_scale"]!)!
        run.guidance = GuidanceMode(rawValue: meta["guidance"]!)!
        run.classes = try file.integers("y").map { Int($0) }
        run.microbatchSize = 2
        return run
    }

    /// Runs `body` once per GEMM backend (fp32), then restores the default:
    /// every backend must pass the same golden tests at the same tolerance.
    static func forEachBackend(_ body: (GemmBackend) throws -> Void) rethrows {
        defer { Gemm.backend = .openblas }
        for backend in GemmBackend.allCases {
            Gemm.backend = backend
            try body(backend)
        }
    }
}
