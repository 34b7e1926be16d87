import Foundation
import ArgumentParser
import Stages

/// `dit sample`'s dump flags; they override the experiment file's `dump:`.
struct DumpOptions: ParsableArguments {
    @Option(help: "Record activations to PATH (one HDF5 file per rank: PATH.rankN.h5; see docs/dump-format.md).")
    var dump: String?
    @Option(help: "Steps to dump: all, first, last, first,last (default), 0,5,9, 0-9, every:K.")
    var dumpSteps: String?
    @Option(help: "Points to dump: x_t, embed, c, block, block_internals (adaLN, attn, mlp of each block), final, model_out, all (default; all but block_internals).")
    var dumpPoints: String?
    @Option(help: "Images (global indices) to dump, comma-separated (default: all).")
    var dumpImages: String?
    @Flag(help: "gzip the dump's datasets.")
    var dumpCompress = false
    /// Crash tests only (scripts/test-dump.sh), hidden from --help and kept
    /// out of the run config: `K` or `K:R` kills every rank (or rank R) with
    /// SIGKILL at the end of step K, once step K−1 is flushed to its dump.
    @Option(help: .hidden) var dumpTestKillAfterStep: String?

    /// The step after which this rank kills itself (`--dump-test-kill-after-step`), if any.
    func killAfterStep(rank: Int) throws -> Int? {
        guard let spec = dumpTestKillAfterStep else { return nil }
        let parts = spec.split(separator: ":").map { Int($0) }
        guard (1...2).contains(parts.count), let step = parts[0], parts.count == 1 || parts[1] != nil else {
            throw DiTError("--dump-test-kill-after-step: '\(spec)' is not K or K:RANK")
        }
        return parts.count == 1 || parts[1] == rank ? step : nil
    }

    func apply(to r: inout RunConfig) throws {
        if let dump { r.dump = r.dump.map { var d = $0; d.path = dump; return d } ?? DumpConfig(path: dump) }
        let extra = dumpSteps != nil || dumpPoints != nil || dumpImages != nil || dumpCompress
        guard var d = r.dump else {
            if extra { throw DiTError("--dump-steps/--dump-points/--dump-images/--dump-compress need --dump PATH (or a dump: section)") }
            return
        }
        if let dumpSteps { d.steps = dumpSteps; _ = try DumpSelection.StepSpec(dumpSteps) }
        if let dumpPoints { d.points = [dumpPoints] }
        _ = try DumpSelection.parsePoints(d.points)
        if let dumpImages {
            d.images = try dumpImages.split(separator: ",").map { s in
                guard let v = Int(s.trimmingCharacters(in: .whitespaces)), v >= 0 else {
                    throw DiTError("--dump-images: '\(s)' is not an image index; give indices like 0,3")
                }
                return v
            }
        }
        if dumpCompress { d.compress = true }
        r.dump = d
    }
}
