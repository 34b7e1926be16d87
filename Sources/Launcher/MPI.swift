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
        if active { MPI_Finalize() }
    }

    /// Ends every rank of the job, after saying why on stderr.
    func abort(_ message: String) -> Never {
        FileHandle.standardError.write(Data("dit: rank \(rank): \(message)\n".utf8))
        if active { MPI_Abort(dit_mpi_comm_world(), 1) }
        exit(1)
    }

    /// True when every rank passed the same value (detects mismatched configs).
    func allAgree(_ value: UInt64) throws -> Bool {
        guard active else { return true }
        var mine = [value, ~value], result = [UInt64](repeating: 0, count: 2)
        try check(mpi: MPI_Allreduce(&mine, &result, 2, dit_mpi_uint64(), dit_mpi_max(), dit_mpi_comm_world()), "MPI_Allreduce")
        return result[0] == value && result[1] == ~value
    }

    /// Rank 0's integers, on every rank.
    func broadcast(_ values: [Int]) throws -> [Int] {
        guard active && size > 1 else { return values }
        var count = Int64(values.count)
        try check(mpi: MPI_Bcast(&count, 1, dit_mpi_int64(), 0, dit_mpi_comm_world()), "MPI_Bcast")
        var buffer = rank == 0 ? values.map(Int64.init) : [Int64](repeating: 0, count: Int(count))
        if count > 0 {
            try check(mpi: MPI_Bcast(&buffer, Int32(count), dit_mpi_int64(), 0, dit_mpi_comm_world()), "MPI_Bcast")
        }
        return buffer.map(Int.init)
    }

    func barrier() throws {
        if active { try check(mpi: MPI_Barrier(dit_mpi_comm_world()), "MPI_Barrier") }
    }
}
