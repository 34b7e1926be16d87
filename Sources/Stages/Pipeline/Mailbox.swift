/// Messages of one kind from one peer, received into pre-posted buffers and
/// consumed in order; each header is checked before the payload is read.
final class Inbox {
    let transport: Transport
    let kind: MessageKind
    let peer: Int
    let slots: [MessageBuffer]
    let total: Int
    private(set) var consumed = 0

    init(transport: Transport, kind: MessageKind, peer: Int, floats: Int, depth: Int, total: Int) throws {
        (self.transport, self.kind, self.peer, self.total) = (transport, kind, peer, total)
        slots = (0..<min(depth, total)).map { _ in MessageBuffer(floats: floats) }
        for n in 0..<slots.count { try post(n) }
    }

    private func post(_ seq: Int) throws {
        let slot = slots[seq % slots.count]
        slot.requests = [try transport.postReceive(slot.raw, bytes: slot.bytes, from: peer, tag: kind.tag)]
    }

    /// The request the next message waits on, if it has not arrived.
    var pending: [Int] { consumed < total ? slots[consumed % slots.count].requests : [] }

    /// True once the next message has arrived.
    func ready() throws -> Bool {
        let slot = slots[consumed % slots.count]
        guard let r = slot.requests.first else { return true }
        guard try transport.test(r) else { return false }
        slot.requests = []
        return true
    }

    /// Hands the next message's payload to `read` and re-posts its buffer;
    /// false (nothing consumed) while it has not arrived.
    func consume(_ expected: MessageHeader, _ read: (UnsafePointer<Float>) -> Void) throws -> Bool {
        guard try ready() else { return false }
        let slot = slots[consumed % slots.count]
        try MessageHeader.check(slot, expected: expected, receiver: transport.rank)
        read(slot.payload)
        consumed += 1
        if consumed + slots.count - 1 < total { try post(consumed + slots.count - 1) }
        return true
    }
}

/// Send buffers of one kind: a message is written into the next buffer once
/// that buffer's previous sends have left, then sent to one or more peers.
final class Outbox {
    let transport: Transport
    let kind: MessageKind
    let slots: [MessageBuffer]
    private var seq = 0

    init(transport: Transport, kind: MessageKind, floats: Int, slots count: Int = Schedule.sendSlots) {
        (self.transport, self.kind) = (transport, kind)
        slots = (0..<count).map { _ in MessageBuffer(floats: floats) }
    }

    /// Writes `header` and the payload (`write`) and sends it to every peer.
    func send(_ header: MessageHeader, to peers: [Int], trace: Trace?, _ write: (UnsafeMutablePointer<Float>) -> Void) throws {
        let slot = slots[seq % slots.count]
        if !slot.requests.isEmpty {
            let start = trace?.now ?? 0
            try transport.wait(slot.requests)
            slot.requests = []
            trace?.add("send wait", "wait", from: start)
        }
        header.write(to: slot.raw)
        write(slot.payload)
        slot.requests = try peers.map { try transport.postSend(slot.raw, bytes: slot.bytes, to: $0, tag: kind.tag) }
        seq += 1
    }

    var pending: [Int] { slots.flatMap(\.requests) }

    /// Forgets completed sends; true if any completed.
    func drain() throws -> Bool {
        var any = false
        for slot in slots where !slot.requests.isEmpty {
            let left = try slot.requests.filter { try !transport.test($0) }
            any = any || left.count < slot.requests.count
            slot.requests = left
        }
        return any
    }
}
