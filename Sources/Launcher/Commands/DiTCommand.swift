import Foundation
import ArgumentParser
import Tensors

@main
struct DiTCommand: ParsableCommand {
    /// OpenBLAS's worker threads spin after each call (for 2^28 cycles by
    /// default) and take the cores from our own threaded kernels (attention,
    /// GELU, norms): S/2 batch 1 on 2 threads ran 11 % slower for it. The
    /// timeout is read once, when the library loads, so the process sets it
    /// and re-executes itself; an explicit OPENBLAS_THREAD_TIMEOUT (or
    /// OpenMP setting) is kept.
    /// oneDNN's OpenMP workers spin this many times (libgomp's default is
    /// 300 000, ~10 ms of `pause` on recent cores) before sleeping: long
    /// enough to bridge the gaps between one layer's kernels, short enough not
    /// to hold a core while the rank waits for a message (docs/performance.md).
    static let ompSpinCount = "30000"

    static func main() {
        #if AVX512
        // Built for AVX-512 (`make release` on such a CPU): another CPU would die on an illegal instruction.
        if !CPUFeatures.current.hasAVX512 {
            fputs("dit: this binary was built for a CPU with AVX-512 (avx512f/bw/vl), which this CPU "
                  + "(\(CPUFeatures.current.modelName)) lacks; rebuild on this machine with `make release` "
                  + "(or `make release CPU=x86-64-v3 AVX512=` for any AVX2 CPU)\n", stderr)
            Foundation.exit(2)
        }
        #endif
        // Both libraries read their idle-spin settings once, at load: set the missing ones and re-execute.
        var tuned = [("OPENBLAS_THREAD_TIMEOUT", "4")]
        if getenv("OMP_WAIT_POLICY") == nil { tuned.append(("GOMP_SPINCOUNT", ompSpinCount)) }
        let missing = tuned.filter { getenv($0.0) == nil }
        if !missing.isEmpty {
            for (key, value) in missing { setenv(key, value, 1) }
            // The resolved path keeps the process name `dit` (for ps, pgrep, mpirun's messages).
            var path = [CChar](repeating: 0, count: 4096)
            if readlink("/proc/self/exe", &path, path.count - 1) > 0 {
                execv(path, CommandLine.unsafeArgv)   // returns only on failure: run as we are
            }
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "dit",
        abstract: "DiT inference: exact, single-process or pipeline-parallel over MPI.",
        version: "0.1.0",
        subcommands: [SampleCommand.self, ForwardCommand.self, PlanCommand.self, InspectCommand.self, BenchCommand.self,
                      ProfileCommand.self, ReportCommand.self, VAEDecodeCommand.self, DumpCommand.self])
}
