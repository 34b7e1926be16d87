import Foundation
import Stages
import Tensors

/// Writes one rank's trace to its file every `interval` seconds while the
/// run goes on, when the run fails or is stopped (SIGINT/SIGTERM, a lost
/// peer: `abandon`, also called by `MPIWorld.abort` before it ends the job),
/// and at the end: an interrupted or stuck run leaves readable traces. Each
/// write is whole (temp file + rename); the ones before the end say
/// `complete: 0`. Signals belong to the watchdog (`Watchdog`), which calls
/// `MPIWorld.lastWords` (this writer's `abandon`) on their arrival and turns
/// them into an error at the next check, so this type installs no handler.
final class TraceWriter: @unchecked Sendable {
    let trace: Trace
    let path: String
    private var timer: DispatchSourceTimer?
    private let queue = DispatchQueue(label: "trace-writer")

    static let interval = 10.0

    init(trace: Trace, path: String) {
        self.trace = trace
        self.path = path
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + Self.interval, repeating: Self.interval)
        timer.setEventHandler { [weak self] in self?.write(complete: false) }
        timer.resume()
        self.timer = timer
    }

    private func write(complete: Bool) {
        try? AtomicFile.write(trace.chromeJSON(complete: complete), to: path)
    }

    /// The trace so far, marked incomplete: the run failed or was stopped.
    /// Safe from any thread (the writes are serialised on the writer's queue).
    func abandon() {
        queue.sync {
            timer?.cancel(); timer = nil
            write(complete: false)
        }
    }

    /// The complete trace.
    func finish() throws {
        try queue.sync {
            timer?.cancel(); timer = nil
            try AtomicFile.write(trace.chromeJSON(), to: path)
        }
    }

    /// A run's identity, the same on every rank (rank 0's draw), so that
    /// `dit report` can tell the traces of two runs apart.
    static func runID(world: MPIWorld) throws -> Int {
        try world.broadcast([Int.random(in: 1 ..< 1 << 50)])[0]
    }

    /// This machine, as a number (FNV-1a of the host name), to count the
    /// ranks that share its cores.
    static var hostID: Int {
        let name = ProcessInfo.processInfo.hostName
        return Int(name.utf8.reduce(0xCBF2_9CE4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 } >> 14)
    }
}
