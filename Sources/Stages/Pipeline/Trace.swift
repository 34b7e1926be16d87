import Foundation

/// Per-rank timeline of compute / send / receive / wait spans, written as
/// Chrome trace JSON (opens in Perfetto or chrome://tracing). Spans are
/// added by the compute thread; `chromeJSON` may be called from another
/// (periodic and signal-time flushes), so both take the lock.
public final class Trace: @unchecked Sendable {
    public struct Span: Sendable {
        public let name: String
        public let category: String
        public let start: Double   // seconds since the trace began
        public let duration: Double
        public let step: Int
        public let microbatch: Int
    }
    public let rank: Int
    public let stage: Int
    /// Facts about the run for `dit report` (images, steps, micro-batches, stages).
    public var metadata: [String: Int] = [:]
    /// Facts in words: the GEMM backend with its ISA and threads, precision, CPU.
    public var info: [String: String] = [:]
    public var spans: [Span] { lock.withLock { storage } }
    private var storage: [Span] = []
    private let lock = NSLock()

    public init(rank: Int, stage: Int) {
        self.rank = rank
        self.stage = stage
        storage.reserveCapacity(1 << 14)
    }

    /// Seconds on the machine's monotonic clock, so that the traces of ranks
    /// on one node line up.
    public var now: Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    public func add(_ name: String, _ category: String, from start: Double, step: Int = -1, microbatch: Int = -1) {
        let span = Span(name: name, category: category, start: start, duration: now - start, step: step, microbatch: microbatch)
        lock.lock()
        storage.append(span)
        lock.unlock()
    }

    /// Runs `body` as one span.
    @inline(__always)
    public func measure<T>(_ name: String, _ category: String, step: Int = -1, microbatch: Int = -1,
                           _ body: () throws -> T) rethrows -> T {
        let start = now
        defer { add(name, category, from: start, step: step, microbatch: microbatch) }
        return try body()
    }

    /// The trace so far; `complete` is false for a flush during the run (or
    /// at an interrupt), recorded as `complete: 0` for `dit report`.
    public func chromeJSON(complete: Bool = true) -> Data {
        let spans = self.spans
        var events: [[String: Any]] = [[
            "name": "process_name", "ph": "M", "pid": rank, "tid": 0,
            "args": ["name": "rank \(rank) (stage \(stage))"],
        ], [
            "name": "dit_run", "ph": "M", "pid": rank, "tid": 0,
            "args": (metadata.merging(["rank": rank, "stage": stage, "complete": complete ? 1 : 0]) { a, _ in a } as [String: Any])
                .merging(info) { a, _ in a },
        ]]
        for s in spans {
            events.append([
                "name": s.name, "cat": s.category, "ph": "X", "pid": rank, "tid": 0,
                "ts": s.start * 1e6, "dur": s.duration * 1e6,
                "args": ["step": s.step, "microbatch": s.microbatch, "stage": stage],
            ])
        }
        return (try? JSONSerialization.data(withJSONObject: ["traceEvents": events], options: [])) ?? Data()
    }
}
