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
    /// Peer, tag and direction of every outstanding request, for messages.
    private var posted: [Int: (peer: Int, tag: Int, send: Bool)] = [:]
    private var completed: Set<Int> = []
    private var nextID = 1
    var waitContext: WaitContext?

    init(world: MPIWorld) { self.world = world }

    private func add(_ request: MPI_Request?, peer: Int, tag: Int, send: Bool) -> Int {
        defer { nextID += 1 }
        requests[nextID] = request
        posted[nextID] = (peer, tag, send)
        return nextID
    }

    /// The message tags of every transfer (PipelineRunner, SamplingSession, SpreadDecoder).
    static let tagNames = [1: "activations", 2: "model output", 3: "final latents", 4: "latents to decode", 5: "decoded images"]

    /// "model output of step 3 micro-batch 1 from rank 2 (host dpnode2)".
    private func describe(_ ids: [Int]) -> String {
        guard let p = ids.lazy.compactMap({ self.posted[$0] }).first else { return "a message" }
        let peer = waitContext?.peer ?? p.peer
        let what = waitContext?.description ?? (p.send ? "a send of " : "") + (Self.tagNames[p.tag] ?? "tag \(p.tag)")
        return "\(what) \(p.send ? "to" : "from") rank \(peer) (host \(world.host(peer)))"
    }

    func postSend(_ buffer: UnsafeRawPointer, bytes: Int, to peer: Int, tag: Int) throws -> Int {
        var request: MPI_Request? = dit_mpi_request_null()
        try check(mpi: MPI_Isend(buffer, Int32(bytes), dit_mpi_byte(), Int32(peer), Int32(tag), dit_mpi_comm_world(), &request),
                  "MPI_Isend of \(bytes) bytes to rank \(peer)")
        return add(request, peer: peer, tag: tag, send: true)
    }

    func postReceive(_ buffer: UnsafeMutableRawPointer, bytes: Int, from peer: Int, tag: Int) throws -> Int {
        var request: MPI_Request? = dit_mpi_request_null()
        try check(mpi: MPI_Irecv(buffer, Int32(bytes), dit_mpi_byte(), Int32(peer), Int32(tag), dit_mpi_comm_world(), &request),
                  "MPI_Irecv from rank \(peer)")
        return add(request, peer: peer, tag: tag, send: false)
    }

    func test(_ id: Int) throws -> Bool {
        if completed.remove(id) != nil { return true }
        guard let stored = requests[id] else { return true }
        var request = stored
        var flag: Int32 = 0
        try check(mpi: MPI_Test(&request, &flag, dit_mpi_status_ignore()), "MPI_Test of \(describe([id]))")
        if flag != 0 { requests.removeValue(forKey: id); posted.removeValue(forKey: id); return true }
        requests[id] = request
        return false
    }

    func progress() throws {
        try world.checkInterrupted()
        guard !requests.isEmpty else { return }
        let ids = Array(requests.keys)
        var handles: [MPI_Request?] = ids.map { requests[$0]! }
        var indices = [Int32](repeating: 0, count: ids.count)
        var count: Int32 = 0
        try check(mpi: MPI_Testsome(Int32(ids.count), &handles, &count, &indices, dit_mpi_statuses_ignore()),
                  "MPI_Testsome over \(describe(ids)) and \(ids.count - 1) other request(s)")
        guard count > 0 && count != dit_mpi_undefined() else { return }
        for i in indices.prefix(Int(count)) {
            requests.removeValue(forKey: ids[Int(i)])
            posted.removeValue(forKey: ids[Int(i)])
            completed.insert(ids[Int(i)])
        }
    }

    /// Polls with a short, growing sleep rather than MPI_Waitany, whose busy
    /// loop would steal the core from a co-located rank's compute when ranks
    /// outnumber cores (oversubscribed runs, --simulate with S = 28).
    /// The wait is under the peer deadline (`PeerDeadline`, `Watchdog`).
    func waitAny(_ ids: [Int]) throws {
        var pause: UInt32 = 2
        let start = Date(), seconds = world.deadline.seconds
        world.watchdog?.arm("waited \(Int(seconds)) s for \(describe(ids)), which did not come; that rank or its host is lost, stopped or cut off (peer_timeout \(Int(seconds)) s)", seconds: seconds)
        defer { world.watchdog?.disarm(); waitContext = nil }
        while true {
            try progress()
            if ids.contains(where: { completed.contains($0) || requests[$0] == nil }) {
                world.deadline.completed(after: Date().timeIntervalSince(start))
                return
            }
            usleep(pause)
            pause = min(pause * 2, 200)
        }
    }

    func abort(_ message: String) -> Never { world.abort(message) }
}
