import Foundation

/// In-process message passing between the ranks of one test: sends copy into
/// the hub and complete at once; receives match in post order per
/// (source, destination, tag), as MPI's non-overtaking rule does. Ranks run
/// cooperatively in one thread, or one thread each (Ulysses exchanges wait
/// inside a forward), where a wait blocks until another rank's call completes it.
public final class LoopbackHub: @unchecked Sendable {
    struct Key: Hashable { let from: Int; let to: Int; let tag: Int }
    struct PendingReceive { let id: Int; let buffer: UnsafeMutableRawPointer; let bytes: Int }
    private var messages: [Key: [[UInt8]]] = [:]
    private var receives: [Key: [PendingReceive]] = [:]
    private var completed: Set<Int> = []
    private var nextID = 1
    private let lock = NSCondition()
    /// How long a blocked wait may last before it is called a deadlock.
    public var waitLimit: Double = 60
    public let worldSize: Int
    public private(set) var aborted: String?

    public init(worldSize: Int) { self.worldSize = worldSize }

    public func transport(rank: Int) -> LoopbackTransport { LoopbackTransport(hub: self, rank: rank) }

    func send(_ buffer: UnsafeRawPointer, bytes: Int, key: Key) -> Int {
        lock.lock(); defer { lock.unlock() }
        messages[key, default: []].append(Array(UnsafeRawBufferPointer(start: buffer, count: bytes)))
        let id = newID()
        completed.insert(id)
        match(key)
        return id
    }

    func receive(_ buffer: UnsafeMutableRawPointer, bytes: Int, key: Key) -> Int {
        lock.lock(); defer { lock.unlock() }
        let id = newID()
        receives[key, default: []].append(PendingReceive(id: id, buffer: buffer, bytes: bytes))
        match(key)
        return id
    }

    private func newID() -> Int { defer { nextID += 1 }; return nextID }

    private func match(_ key: Key) {
        while let msg = messages[key]?.first, let recv = receives[key]?.first {
            precondition(msg.count <= recv.bytes, "loopback: message of \(msg.count) bytes for a \(recv.bytes)-byte receive")
            msg.withUnsafeBytes { recv.buffer.copyMemory(from: $0.baseAddress!, byteCount: msg.count) }
            messages[key]!.removeFirst()
            receives[key]!.removeFirst()
            completed.insert(recv.id)
        }
        lock.broadcast()
    }

    func test(_ id: Int) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return completed.remove(id) != nil
    }

    /// Blocks until one of `ids` has completed; false after `waitLimit` seconds.
    func waitAny(_ ids: [Int]) -> Bool {
        lock.lock(); defer { lock.unlock() }
        let deadline = Date().addingTimeInterval(waitLimit)
        while !ids.contains(where: completed.contains) {
            if !lock.wait(until: deadline) { return false }
        }
        return true
    }

    func abort(_ message: String) { lock.lock(); aborted = message; lock.unlock() }
}

/// One rank's view of a `LoopbackHub`.
public final class LoopbackTransport: Transport {
    let hub: LoopbackHub
    public let rank: Int
    public var worldSize: Int { hub.worldSize }
    public var waitContext: WaitContext?

    init(hub: LoopbackHub, rank: Int) { self.hub = hub; self.rank = rank }

    public func postSend(_ buffer: UnsafeRawPointer, bytes: Int, to peer: Int, tag: Int) throws -> Int {
        hub.send(buffer, bytes: bytes, key: .init(from: rank, to: peer, tag: tag))
    }
    public func postReceive(_ buffer: UnsafeMutableRawPointer, bytes: Int, from peer: Int, tag: Int) throws -> Int {
        hub.receive(buffer, bytes: bytes, key: .init(from: peer, to: rank, tag: tag))
    }
    public func test(_ request: Int) throws -> Bool { hub.test(request) }
    public func progress() throws {}
    /// Only other threads can complete a request while this one waits (a
    /// cooperative driver in one thread must switch ranks instead).
    public func waitAny(_ requests: [Int]) throws {
        guard hub.waitAny(requests) else {
            throw DiTError("loopback rank \(rank): no request completed in \(hub.waitLimit) s; the ranks deadlocked")
        }
    }
    public func abort(_ message: String) -> Never {
        hub.abort(message)
        fatalError("rank \(rank): \(message)")
    }
}
