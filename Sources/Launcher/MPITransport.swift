import CMPI
import Foundation
import Stages

/// `Transport` over MPI point-to-point calls on MPI_COMM_WORLD. One thread
/// makes every MPI call. Requests are kept by id; `progress()` runs
/// MPI_Testsome over all of them, since OpenMPI moves large messages only
/// inside MPI calls.
final class MPITransport: Transport {
    let world: MPIWorld
    var rank: Int { world.rank }
    var worldSize: Int { world.size }
    private var requests: [Int: MPI_Request?] = [:]
    private var completed: Set<Int> = []
    private var nextID = 1

    init(world: MPIWorld) { self.world = world }

    private func add(_ request: MPI_Request?) -> Int {
        defer { nextID += 1 }
        requests[nextID] = request
        return nextID
    }

    func postSend(_ buffer: UnsafeRawPointer, bytes: Int, to peer: Int, tag: Int) throws -> Int {
        var request: MPI_Request? = dit_mpi_request_null()
        try check(mpi: MPI_Isend(buffer, Int32(bytes), dit_mpi_byte(), Int32(peer), Int32(tag), dit_mpi_comm_world(), &request),
                  "MPI_Isend of \(bytes) bytes to rank \(peer)")
        return add(request)
    }

    func postReceive(_ buffer: UnsafeMutableRawPointer, bytes: Int, from peer: Int, tag: Int) throws -> Int {
        var request: MPI_Request? = dit_mpi_request_null()
        try check(mpi: MPI_Irecv(buffer, Int32(bytes), dit_mpi_byte(), Int32(peer), Int32(tag), dit_mpi_comm_world(), &request),
                  "MPI_Irecv from rank \(peer)")
        return add(request)
    }

    func test(_ id: Int) throws -> Bool {
        if completed.remove(id) != nil { return true }
        guard let stored = requests[id] else { return true }
        var request = stored
        var flag: Int32 = 0
        try check(mpi: MPI_Test(&request, &flag, dit_mpi_status_ignore()), "MPI_Test")
        if flag != 0 { requests.removeValue(forKey: id); return true }
        requests[id] = request
        return false
    }

    func progress() throws {
        guard !requests.isEmpty else { return }
        let ids = Array(requests.keys)
        var handles: [MPI_Request?] = ids.map { requests[$0]! }
        var indices = [Int32](repeating: 0, count: ids.count)
        var count: Int32 = 0
        try check(mpi: MPI_Testsome(Int32(ids.count), &handles, &count, &indices, dit_mpi_statuses_ignore()), "MPI_Testsome")
        guard count > 0 && count != dit_mpi_undefined() else { return }
        for i in indices.prefix(Int(count)) {
            requests.removeValue(forKey: ids[Int(i)])
            completed.insert(ids[Int(i)])
        }
    }

    /// Polls with a short, growing sleep rather than MPI_Waitany, whose busy
    /// loop would steal the core from a co-located rank's compute when ranks
    /// outnumber cores (oversubscribed runs, --simulate with S = 28).
    func waitAny(_ ids: [Int]) throws {
        var pause: UInt32 = 2
        while true {
            try progress()
            if ids.contains(where: { completed.contains($0) || requests[$0] == nil }) { return }
            usleep(pause)
            pause = min(pause * 2, 200)
        }
    }

    func abort(_ message: String) -> Never { world.abort(message) }
}
