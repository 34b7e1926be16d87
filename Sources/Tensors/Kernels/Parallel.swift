import CBLAS
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
    public static var threads = Int(openblas_get_num_threads())

    /// Calls `body` on `threads` contiguous slices of 0..<count (fewer when
    /// slices would hold under `grain` items).
    @inline(__always)
    public static func ranges(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let n = min(threads, count / max(grain, 1))
        if n <= 1 { body(0..<count); return }
        DispatchQueue.concurrentPerform(iterations: n) { i in body((i * count / n)..<((i + 1) * count / n)) }
    }
}
