import Foundation

/// A thread that ends the job when a wait outlives its deadline, or when a
/// SIGINT/SIGTERM was not honoured in time. The waiting thread may be
/// blocked inside an MPI call (a collective, or a TCP send to a stopped
/// host), so the deadline cannot be checked by the waiter itself: it arms
/// the watchdog before waiting and disarms it after, and this thread calls
/// `expire`, which prints what was awaited and aborts the job.
final class Watchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var armed: (what: String, deadline: Date)?
    private var interruptedAt: Date?
    private var interruptSignal: Int32 = 0
    /// Seconds between a signal and the forced exit when the run does not
    /// stop by itself (a forward pass between two checks, a blocked MPI call).
    static let interruptGrace = 10.0
    private let expire: (String) -> Never
    private let interrupted: () -> Void
    private var signalSources: [DispatchSourceSignal] = []

    /// `interrupted` runs once, on the signal's arrival (mpirun kills the
    /// ranks ~1 s after its SIGTERM: what must survive is saved then).
    init(expire: @escaping (String) -> Never, interrupted: @escaping () -> Void) {
        self.expire = expire
        self.interrupted = interrupted
        let thread = Thread { [unowned self] in self.watch() }
        thread.name = "dit-watchdog"
        thread.start()
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [unowned self] in self.interrupt(sig) }
            source.resume()
            signalSources.append(source)
        }
    }

    /// Starts a deadline for a wait described by `what`.
    func arm(_ what: String, seconds: Double) {
        lock.lock(); armed = (what, Date().addingTimeInterval(seconds)); lock.unlock()
    }

    func disarm() { lock.lock(); armed = nil; lock.unlock() }

    /// The signal that asked this process to stop, if one did.
    var interruption: Int32? {
        lock.lock(); defer { lock.unlock() }
        return interruptedAt == nil ? nil : interruptSignal
    }

    private func interrupt(_ sig: Int32) {
        lock.lock()
        let first = interruptedAt == nil
        if first { interruptedAt = Date(); interruptSignal = sig }
        lock.unlock()
        if first { interrupted() }
    }

    private func watch() {
        while true {
            usleep(200_000)
            lock.lock()
            let now = Date()
            let expired = armed.flatMap { now > $0.deadline ? $0.what : nil }
            let stuck = interruptedAt.map { now.timeIntervalSince($0) > Self.interruptGrace } ?? false
            let sig = interruptSignal
            lock.unlock()
            if let expired { expire(expired) }
            if stuck { expire("\(sig == SIGINT ? "SIGINT" : "SIGTERM") received and the run did not stop within \(Int(Self.interruptGrace)) s; exiting") }
        }
    }
}

/// How long a rank waits for a peer before it gives up: `peer_timeout` when
/// set, else a floor of 60 s plus 10 × the slowest wait that completed so
/// far (a step that legitimately takes long, such as XL/2 on few cores,
/// stretches the deadline with it).
struct PeerDeadline {
    static let floor = 60.0, multiple = 10.0
    var fixed: Double?
    private(set) var slowest = 0.0

    var seconds: Double { fixed ?? Self.floor + Self.multiple * slowest }

    mutating func completed(after seconds: Double) { slowest = max(slowest, seconds) }
}
