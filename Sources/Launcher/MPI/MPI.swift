import CMPI
import Foundation

/// An MPI call that failed, with MPI's own message.
struct MPIError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Checks an MPI return code; the error names the call and MPI's reason.
func check(mpi code: Int32, _ what: @autoclosure () -> String) throws {
    guard code != dit_mpi_success() else { return }
    var buffer = [CChar](repeating: 0, count: Int(dit_mpi_max_error_string()) + 1)
    var length: Int32 = 0
    MPI_Error_string(code, &buffer, &length)
    throw MPIError(message: "MPI: \(what()) failed: \(String(cString: buffer))")
}

/// The MPI world, initialised only when the process was started by mpirun
/// (a plain `dit sample` needs no MPI runtime).
final class MPIWorld {
    static let shared = MPIWorld()
    let rank: Int
    let size: Int
    let active: Bool
    /// Every rank's host name (MPI_Get_processor_name), from the handshake.
    var hosts: [String] = []
    var deadline = PeerDeadline()
    private(set) var watchdog: Watchdog?
    private var guardPipe: Int32?
    /// What a rank leaves behind when the job ends early (its trace so far):
    /// run at SIGINT/SIGTERM (the watchdog's thread), in `abort`, from
    /// whichever thread aborts, and by the failing command itself. Each
    /// call saves the state of that moment; `nil` once the run is over.
    var lastWords: (() -> Void)? {
        get { lastWordsLock.withLock { _lastWords } }
        set { lastWordsLock.withLock { _lastWords = newValue } }
    }
    private var _lastWords: (() -> Void)?
    private let lastWordsLock = NSLock()

    func sayLastWords() { lastWords?() }

    private init() {
        let env = ProcessInfo.processInfo.environment
        guard env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil || env["PMI_RANK"] != nil else {
            (rank, size, active) = (0, 1, false)
            return
        }
        var provided: Int32 = 0
        MPI_Init_thread(nil, nil, dit_mpi_thread_funneled(), &provided)
        MPI_Comm_set_errhandler(dit_mpi_comm_world(), dit_mpi_errors_return())
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(dit_mpi_comm_world(), &r)
        MPI_Comm_size(dit_mpi_comm_world(), &s)
        (rank, size, active) = (Int(r), Int(s), true)
    }

    func finalize() {
        if active { guarded("MPI_Finalize (every rank finishing)") { _ = MPI_Finalize() } }
        if let guardPipe { MpirunGuard.release(guardPipe) }
    }

    func host(_ r: Int) -> String { r < hosts.count ? hosts[r] : "?" }

    /// Starts the deadline on every wait and the SIGINT/SIGTERM handling.
    func startWatchdog(peerTimeout: Double?) {
        deadline.fixed = peerTimeout
        // mpirun closes our stderr pipe before it signals the ranks: a
        // progress line must not kill the rank before it stops cleanly (Stderr).
        if active { signal(SIGPIPE, SIG_IGN) }
        watchdog = Watchdog(expire: { [unowned self] what in self.abort(what, linger: 2) },
                            interrupted: { [unowned self] in self.sayLastWords() })
        if active && size > 1 { guardPipe = MpirunGuard.start(rank: rank) }
    }

    /// Throws if SIGINT or SIGTERM asked the run to stop.
    func checkInterrupted() throws {
        if let sig = watchdog?.interruption { throw WireError.interrupted(signal: sig) }
    }

    /// Runs a blocking MPI call under the peer deadline.
    func guarded<T>(_ what: @autoclosure () -> String, _ body: () throws -> T) rethrows -> T {
        watchdog?.arm("waited \(Int(deadline.seconds)) s for \(what()) (some rank is lost, stopped or unreachable); set peer_timeout to wait longer", seconds: deadline.seconds)
        defer { watchdog?.disarm() }
        return try body()
    }

    /// Ends every rank of the job, after saying why on stderr.
    /// MPI_Abort may itself hang when a peer's daemon is stopped; the
    /// process then exits on its own after a few seconds, which mpirun also
    /// treats as a failed job.
    /// `linger` seconds pass between the message and the abort, so that the
    /// other ranks whose deadlines expire too can say whom they waited for.
    func abort(_ message: String, linger: UInt32 = 0) -> Never {
        Stderr.write("dit: rank \(rank) (\(host(rank))): \(message)\n")
        sayLastWords()
        sleep(linger)
        if active {
            Thread.detachNewThread { sleep(5); _exit(1) }
            MPI_Abort(dit_mpi_comm_world(), 1)
        }
        exit(1)
    }

    /// True when every rank passed the same value (detects mismatched configs).
    func allAgree(_ value: UInt64) throws -> Bool {
        guard active else { return true }
        var mine = [value, ~value], result = [UInt64](repeating: 0, count: 2)
        try guarded("the run-config check (MPI_Allreduce)") {
            try check(mpi: MPI_Allreduce(&mine, &result, 2, dit_mpi_uint64(), dit_mpi_max(), dit_mpi_comm_world()), "MPI_Allreduce")
        }
        return result[0] == value && result[1] == ~value
    }

    /// Rank 0's integers, on every rank.
    func broadcast(_ values: [Int]) throws -> [Int] {
        guard active && size > 1 else { return values }
        var count = Int64(values.count)
        try guarded("rank 0's broadcast (MPI_Bcast)") {
            try check(mpi: MPI_Bcast(&count, 1, dit_mpi_int64(), 0, dit_mpi_comm_world()), "MPI_Bcast")
        }
        var buffer = rank == 0 ? values.map(Int64.init) : [Int64](repeating: 0, count: Int(count))
        if count > 0 {
            try guarded("rank 0's broadcast (MPI_Bcast)") {
                try check(mpi: MPI_Bcast(&buffer, Int32(count), dit_mpi_int64(), 0, dit_mpi_comm_world()), "MPI_Bcast")
            }
        }
        return buffer.map(Int.init)
    }

    func barrier() throws {
        if active { try guarded("every rank at a barrier (MPI_Barrier)") { try check(mpi: MPI_Barrier(dit_mpi_comm_world()), "MPI_Barrier") } }
    }
}
