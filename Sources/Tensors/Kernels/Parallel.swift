import CBLAS
import CDNNL
import Dispatch
import Foundation

/// Splits row-wise kernels over threads. Each row is computed whole by one
/// thread in the same order as on one thread, so results do not depend on
/// the thread count or on other rows.
public enum Parallel {
    /// Threads for the elementwise kernels; `Gemm.threads` sets it together
    /// with OpenBLAS's. Defaults to OpenBLAS's own count (OPENBLAS_NUM_THREADS
    /// when set), so a rank launched with one BLAS thread uses one thread
    /// here too instead of competing with the other ranks for their cores.
    public nonisolated(unsafe) static var threads = Int(openblas_get_num_threads())

    /// Calls `body` on `threads` contiguous slices of 0..<count (fewer when
    /// slices would hold under `grain` items).
    @inline(__always)
    public static func ranges(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let n = min(threads, count / max(grain, 1))
        if n <= 1 { body(0..<count); return }
        perform(n) { i in body((i * count / n)..<((i + 1) * count / n)) }
    }

    /// Calls `body(i)` for i in 0..<n at once, as
    /// `DispatchQueue.concurrentPerform` does. With oneDNN the calls run on
    /// its OpenMP team (whose workers still spin from the last product, and
    /// would otherwise compete with a second pool for the cores), with
    /// OpenBLAS on libdispatch's pool.
    public static func perform(_ n: Int, _ body: (Int) -> Void) {
        guard Gemm.backend == .onednn else { return DispatchQueue.concurrentPerform(iterations: n, execute: body) }
        withoutActuallyEscaping(body) { body in
            var job = Job(body: body, iterations: n)
            withUnsafeMutablePointer(to: &job) { GOMP_parallel(runJob, $0, UInt32(n), 0) }
        }
    }

    struct Job {
        let body: (Int) -> Void
        let iterations: Int
    }
}

/// One OpenMP thread's share of a `Parallel.Job`: iterations tid, tid + team,
/// … (the team may be smaller than asked).
private let runJob: @convention(c) (UnsafeMutableRawPointer?) -> Void = { raw in
    let job = raw!.assumingMemoryBound(to: Parallel.Job.self).pointee
    for i in stride(from: Int(omp_get_thread_num()), to: job.iterations, by: Int(omp_get_num_threads())) { job.body(i) }
}
