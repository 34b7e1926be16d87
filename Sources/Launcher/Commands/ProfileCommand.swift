import ArgumentParser
import Foundation
import Stages
import Tensors

/// `dit profile`: wall time per op kind of the forward pass.
struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Time each op kind of the forward pass (GEMM by layer, attention, norms, elementwise, embedding).",
        discussion: """
            Example: dit profile --preset XL/2 --batch 8 --threads 2
            """)

    @Option(name: [.customLong("preset"), .customLong("presets")], help: "Preset (S/2, B/2, XL/2, ...); ignored with --checkpoint.")
    var preset = "XL/2"
    @Option(help: "A checkpoint to profile instead of random preset weights.") var checkpoint: String?
    @Option(help: "Latent size (32 for 256-px images).") var inputSize = 32
    @Option(name: [.customLong("batch"), .customLong("microbatch-size")], help: "Images per forward pass.") var batch = 8
    @Option(help: "Threads (OpenBLAS and elementwise kernels).") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Profiled forward passes (times are averaged).") var repeats = 3
    @Flag(help: "Charge this thread's CPU time instead of wall time (robust to other load; only with --threads 1).")
    var cpuClock = false
    @OptionGroup var engine: EngineOptions

    func run() throws {
        let backend = try engine.configure(threads: threads)
        let ckpt: Checkpoint
        if let checkpoint {
            ckpt = try Checkpoint(path: checkpoint)
        } else {
            let name = preset.replacingOccurrences(of: "DiT-", with: "")
            guard let config = DiTConfig.preset(name, inputSize: inputSize) else {
                throw ValidationError("unknown preset '\(preset)'; use one of \(DiTConfig.presetNames.joined(separator: ", "))")
            }
            ckpt = try RandomCheckpoint.make(config: config)
        }
        let model = try DiT(checkpoint: ckpt)
        let c = model.config, n = batch
        let pass = SyntheticForward(model: model, batch: n)
        pass()
        let profiler = Profiler(cpuClock: cpuClock)
        pass.workspace.observer = profiler
        let start = profiler.now()
        for _ in 0..<repeats { pass() }
        let wall = Double(profiler.now() - start) / 1e6 / Double(repeats)
        pass.workspace.observer = nil

        print("DiT \(checkpoint ?? preset), batch \(n), \(Gemm.precision.rawValue), \(backend): \(String(format: "%.1f", wall)) ms per forward (mean of \(repeats))")
        print("op                              ms/forward   share   GFLOP/s")
        let flops = Self.flops(c, batch: n)
        var sum = 0.0
        for op in Profiler.Op.allCases {
            let ms = Double(profiler.totals[op.rawValue]) / 1e6 / Double(repeats)
            sum += ms
            let rate = flops[op].map { String(format: "%9.1f", $0 / ms / 1e6) } ?? ""
            print(op.name.padding(toLength: 30, withPad: " ", startingAt: 0)
                  + String(format: " %11.2f %6.1f%% ", ms, 100 * ms / wall) + rate)
        }
        print("other (silu(c), untimed)".padding(toLength: 30, withPad: " ", startingAt: 0)
              + String(format: " %11.2f %6.1f%%", wall - sum, 100 * (wall - sum) / wall))
    }

    /// FLOPs per op kind that has them (GEMMs and attention), per forward.
    static func flops(_ c: DiTConfig, batch: Int) -> [Profiler.Op: Double] {
        let f = FLOPs(c), n = Double(batch), depth = Double(c.depth)
        return [
            .adaLN: n * (depth * f.adaLN + f.finalAdaLN),
            .qkv: n * depth * f.qkv,
            .attention: n * depth * f.attention,
            .proj: n * depth * f.proj,
            .fc1: n * depth * f.fc1,
            .fc2: n * depth * f.fc2,
            .finalLinear: n * f.finalLinear,
        ]
    }
}
