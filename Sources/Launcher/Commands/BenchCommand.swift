import ArgumentParser
import Foundation
import Stages
import Tensors

/// `dit bench`: forward latency per preset, batch and thread count, against
/// an sgemm peak measured in the same process.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time the forward pass (random weights unless --checkpoint) against a measured sgemm peak.",
        discussion: """
            Example: dit bench --preset S/2,XL/2 --batch 1,8 --threads 1,2 --json
            """)

    @Option(name: [.customLong("preset"), .customLong("presets")],
            help: "Comma-separated presets (S/2, B/2, L/2, XL/2, ...); ignored with --checkpoint.")
    var presets = "S/2,B/2,XL/2"
    @Option(help: "A checkpoint to time instead of random preset weights.") var checkpoint: String?
    @Option(help: "Latent size (32 for 256-px images).") var inputSize = 32
    @Option(name: [.customLong("batch"), .customLong("batches"), .customLong("microbatch-size")],
            help: "Comma-separated batch sizes (images per forward pass, as sample's --microbatch-size).") var batches = "1,2,8"
    @Option(help: "Comma-separated thread counts.") var threads = "1,2"
    @Option(help: "Timed forward passes per case (the median is reported).") var repeats = 5
    @Option(help: "Untimed forward passes before timing.") var warmup = 1
    @Option(help: "Threads for our own kernels (attention heads, norms, activations); default: as --threads.")
    var kernelThreads: Int?
    @Option(help: "Also write the rows as CSV to this file.") var csv: String?
    @Flag(help: "Print the results as one JSON object instead of the table (docs/formats.md).") var json = false
    @Flag(help: "Time with this thread's CPU clock instead of the wall clock: robust to other load, meaningful only with --threads 1.")
    var cpuClock = false
    @Flag(help: "Instead, time single kernels against their previous implementations (A/B in one process).")
    var kernels = false

    @Option(help: "Comma-separated GEMM backends to compare (auto, openblas, onednn).") var gemm = "auto"
    @Option(help: "Comma-separated precisions to compare (fp32, bf16).") var precision = "fp32"

    func run() throws {
        func say(_ line: String) { if !json { print(line) } }
        Self.useCPUClock = cpuClock
        if kernels { return KernelBench.run(threads: try Self.integers(threads, "--threads"), repeats: repeats) }
        let threadCounts = try Self.integers(threads, "--threads")
        let batchSizes = try Self.integers(batches, "--batches")
        let backends = try Self.list(gemm, "--gemm", GemmBackend.Choice.self).map { try GemmBackend.resolve($0) }
        let precisions = try Self.list(precision, "--precision", Precision.self)
        for p in precisions { try p.validate() }
        let cpu = CPUFeatures.current
        say("CPU: \(cpu.modelName); vector flags: \(cpu.flagList)")
        var fma: [Int: Double] = [:], peaks: [String: Double] = [:]
        for n in threadCounts {
            let ymm = FMAPeak.gflops(lanes: 8, threads: n)
            let zmm = cpu.hasAVX512 ? FMAPeak.gflops(lanes: 16, threads: n) : nil
            fma[n] = max(ymm, zmm ?? 0)
            say("FMA peak, \(Self.plural(n, "thread")): ymm (AVX2) " + String(format: "%.1f", ymm)
                  + (zmm.map { String(format: ", zmm (AVX-512) %.1f", $0) } ?? "") + " GFLOP/s")
            for b in backends {
                Gemm.backend = b
                Gemm.threads = n
                peaks["\(b)/\(n)"] = Self.sgemmPeak()
                say("sgemm peak, \(Gemm.description): " + String(format: "%.1f", peaks["\(b)/\(n)"]!)
                      + " GFLOP/s (best of DiT-XL/2 block shapes, M = 2048)")
            }
        }
        var rows = ["preset,batch,threads,gemm,precision,median_ms,ms_per_image,gflops,peak_gflops,pct_peak,fma_peak_gflops,pct_fma_peak"]
        say(Self.header)
        for p in precisions {
            Gemm.precision = p
            for (name, ckpt) in try models() {
                let model = try DiT(checkpoint: ckpt)
                for b in backends {
                    Gemm.backend = b
                    for n in threadCounts {
                        Gemm.threads = n
                        if let kernelThreads { Parallel.threads = kernelThreads }
                        for batch in batchSizes {
                            let ms = Self.timeForward(model, batch: batch, repeats: repeats, warmup: warmup)
                            let gflops = Double(batch) * FLOPs(model.config).forward / ms / 1e6
                            let peak = peaks["\(b)/\(n)"]!, pct = 100 * gflops / peak, pctFMA = 100 * gflops / fma[n]!
                            say(name.padding(toLength: 8, withPad: " ", startingAt: 0)
                                  + String(format: " %5d %7d ", batch, n) + b.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
                                  + p.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0)
                                  + String(format: " %11.1f %10.1f %9.1f %7.1f%% %7.1f%%", ms, ms / Double(batch), gflops, pct, pctFMA))
                            rows.append(name + String(format: ",%d,%d,", batch, n) + "\(b.rawValue),\(p.rawValue)"
                                        + String(format: ",%.2f,%.2f,%.1f,%.1f,%.1f,%.1f,%.1f", ms, ms / Double(batch), gflops,
                                                 peak, pct, fma[n]!, pctFMA))
                        }
                    }
                }
            }
        }
        if json {
            // The rows are the CSV's, columns as keys, so the two never disagree.
            let columns = rows[0].split(separator: ",").map(String.init)
            let objects = rows.dropFirst().map { row -> [String: Any] in
                let values = row.split(separator: ",").map(String.init)
                return Dictionary(uniqueKeysWithValues: zip(columns, values).map { k, v in (k, Double(v).map { $0 as Any } ?? v) })
            }
            let out: [String: Any] = ["cpu": cpu.modelName, "clock": cpuClock ? "thread-cpu" : "wall", "rows": objects,
                                      "fma_peak_gflops": Dictionary(uniqueKeysWithValues: fma.map { (String($0.key), $0.value) }),
                                      "sgemm_peak_gflops": peaks]
            print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
        }
        if let csv { try (rows.joined(separator: "\n") + "\n").write(toFile: csv, atomically: true, encoding: .utf8) }
    }

    static func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }

    static func list<T: RawRepresentable & CaseIterable>(_ text: String, _ flag: String, _: T.Type) throws -> [T]
    where T.RawValue == String {
        try text.split(separator: ",").map {
            let v = $0.trimmingCharacters(in: .whitespaces)
            guard let x = T(rawValue: v) else {
                throw ValidationError("\(flag): '\(v)' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return x
        }
    }

    static let header = "preset   batch threads gemm     prec    median ms   ms/image   GFLOP/s  % sgemm   % FMA"

    /// (name, checkpoint) per case: the given checkpoint, or random weights per preset.
    func models() throws -> [(String, Checkpoint)] {
        if let checkpoint { return [((checkpoint as NSString).lastPathComponent, try Checkpoint(path: checkpoint))] }
        return try presets.split(separator: ",").map { raw in
            let name = raw.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "DiT-", with: "")
            guard let config = DiTConfig.preset(name, inputSize: inputSize) else {
                throw ValidationError("unknown preset '\(raw)'; use one of \(DiTConfig.presetNames.joined(separator: ", "))")
            }
            return (name, try RandomCheckpoint.make(config: config))
        }
    }

    static func integers(_ list: String, _ flag: String) throws -> [Int] {
        try list.split(separator: ",").map {
            guard let v = Int($0.trimmingCharacters(in: .whitespaces)), v > 0 else {
                throw ValidationError("\(flag): '\($0)' is not a positive integer")
            }
            return v
        }
    }

    /// Median milliseconds of one forward pass of `batch` images, run as a
    /// pipeline stage runs it: preallocated buffers, embed + blocks + final layer.
    static func timeForward(_ model: DiT, batch n: Int, repeats: Int, warmup: Int) -> Double {
        let forward = SyntheticForward(model: model, batch: n)
        return median(repeats: repeats, warmup: warmup) { forward() }
    }

    static var useCPUClock = false

    /// Nanoseconds of the wall clock, or of this thread's CPU time.
    static func now() -> UInt64 {
        guard useCPUClock else { return DispatchTime.now().uptimeNanoseconds }
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func median(repeats: Int, warmup: Int, _ body: () -> Void) -> Double {
        for _ in 0..<warmup { body() }
        let times = (0..<max(repeats, 1)).map { _ -> Double in
            let start = now()
            body()
            return Double(now() - start) / 1e6
        }.sorted()
        return times[times.count / 2]
    }

    /// The best sgemm GFLOP/s over DiT-XL/2's block GEMMs at batch 8 (M = 2048
    /// tokens): qkv, fc1, fc2, each C = A·B with B pre-transposed as Linear uses it.
    static func sgemmPeak() -> Double {
        let m = 2048
        var best = 0.0
        for (k, n) in [(1152, 3456), (1152, 4608), (4608, 1152)] {
            let a = Tensor(shape: [m, k]), b = Tensor(shape: [k, n]), c = Tensor(shape: [m, n])
            for i in 0..<a.count { a[i] = Float(i % 17) * 0.01 }
            for i in 0..<b.count { b[i] = Float(i % 13) * 0.01 }
            let ms = median(repeats: 5, warmup: 1) {
                Gemm.sgemm(m: m, n: n, k: k, a: a.pointer, lda: k, b: b.pointer, ldb: n, c: c.data, ldc: n)
            }
            best = max(best, 2 * Double(m * n * k) / ms / 1e6)
        }
        return best
    }
}
