import Foundation

/// Wall time per op kind of the forward pass (`dit profile`): a
/// `ForwardObserver`, so the model is timed only while one is set on its
/// workspace.
public final class Profiler: ForwardObserver {
    public typealias Op = ForwardOp

    /// Charge this thread's CPU time instead of wall time: robust to other
    /// load on the machine, meaningful only when the forward runs on one thread.
    public let cpuClock: Bool
    /// Nanoseconds per op since the last `reset()`.
    public private(set) var totals = [UInt64](repeating: 0, count: Op.allCases.count)
    private var started: UInt64 = 0

    public init(cpuClock: Bool = false) { self.cpuClock = cpuClock }

    public func reset() { totals = [UInt64](repeating: 0, count: Op.allCases.count) }

    public func willRun(_ op: Op, block: Int?) { started = now() }

    public func didRun(_ op: Op, block: Int?, output: UnsafePointer<Float>, rows: Int, cols: Int) {
        totals[op.rawValue] &+= now() &- started
    }

    public func now() -> UInt64 {
        guard cpuClock else { return DispatchTime.now().uptimeNanoseconds }
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
