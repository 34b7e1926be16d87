/// Point-to-point messaging between ranks, shaped after MPI's non-blocking
/// calls. The MPI implementation lives in Launcher; `LoopbackHub` is the
/// in-process twin used by tests.
public protocol Transport: AnyObject {
    var rank: Int { get }
    var worldSize: Int { get }
    /// Starts sending `bytes` bytes; the buffer must stay untouched until the
    /// request completes.
    func postSend(_ buffer: UnsafeRawPointer, bytes: Int, to peer: Int, tag: Int) throws -> Int
    /// Starts receiving up to `bytes` bytes into `buffer`.
    func postReceive(_ buffer: UnsafeMutableRawPointer, bytes: Int, from peer: Int, tag: Int) throws -> Int
    /// True once the request has completed (it is then forgotten). Drives progress.
    func test(_ request: Int) throws -> Bool
    /// Lets every outstanding request progress (MPI_Testsome); called between
    /// blocks, because large MPI messages move only inside MPI calls.
    func progress() throws
    /// Blocks until at least one of `requests` can complete.
    func waitAny(_ requests: [Int]) throws
    /// Ends the whole job with a message (MPI_Abort); never returns normally.
    func abort(_ message: String) -> Never
    /// What the next `waitAny` waits for, set by its caller, so a transport
    /// whose peer goes silent past its deadline can say which message it was.
    var waitContext: WaitContext? { get set }
}

/// The message a rank is blocked on: kind, step and micro-batch, and the peer.
public struct WaitContext: Sendable, CustomStringConvertible {
    public var kind: MessageKind
    public var step: Int
    public var microbatch: Int
    public var peer: Int
    public init(kind: MessageKind, step: Int, microbatch: Int, peer: Int) {
        self.kind = kind; self.step = step; self.microbatch = microbatch; self.peer = peer
    }
    public var description: String { "\(kind) of step \(step) micro-batch \(microbatch)" }
}

extension Transport {
    /// Blocks until every one of `requests` has completed.
    public func wait(_ requests: [Int]) throws {
        for r in requests { while try !test(r) { try waitAny([r]) } }
    }
}

/// What a message carries; its raw value is also the MPI tag, so every
/// kind is its own channel and the wire contract lives here.
public enum MessageKind: Int32, Sendable, CaseIterable {
    /// One rank's rows: its tokens (rows·T/P·D) then c (rows·D), stage s → s + 1.
    case activations = 1
    /// One rank's final-layer output rows (rows·T/P·p·p·C_out, before
    /// unpatchify), last stage → the replica's sampler.
    case modelOutput = 2
    /// Final latents of a replica's images, its sampler → world rank 0.
    case samples = 3
    /// x_t of one micro-batch (images·C·H·W), the sampler → stage 0's other ranks.
    case latents = 4
    /// Ulysses: q, k, v of the sender's tokens for the receiver's heads.
    case headSplit = 5
    /// Ulysses: attention output of the sender's heads for the receiver's tokens.
    case tokenSplit = 6
    /// VAE spread: one image's final latents, world rank 0 → its decoding rank.
    case decodeLatents = 7
    /// VAE spread: one decoded image, its decoding rank → world rank 0.
    case decodedImage = 8

    public var tag: Int { Int(rawValue) }
}

/// The header in front of every message; the receiver checks it against
/// what its schedule expects, so a mis-ordered or mis-sized message is an
/// error naming both, not silent corruption.
public struct MessageHeader: Equatable, Sendable, CustomStringConvertible {
    public static let magic: Int32 = 0x4449_5450 // "DITP"
    public static let size = 64                  // bytes, keeps the payload 64-byte aligned
    public var kind: MessageKind
    public var step: Int32
    public var microbatch: Int32
    public var sourceStage: Int32
    public var rows: Int32
    public var floats: Int64
    public var sourceRank: Int32
    /// The block of an all-to-all (Ulysses), else -1.
    public var block: Int32

    public init(kind: MessageKind, step: Int, microbatch: Int, sourceStage: Int, rows: Int, floats: Int,
                sourceRank: Int, block: Int = -1) {
        self.kind = kind; self.step = Int32(step); self.microbatch = Int32(microbatch)
        self.sourceStage = Int32(sourceStage); self.rows = Int32(rows); self.floats = Int64(floats)
        self.sourceRank = Int32(sourceRank); self.block = Int32(block)
    }

    public func write(to p: UnsafeMutableRawPointer) {
        p.storeBytes(of: Self.magic, toByteOffset: 0, as: Int32.self)
        p.storeBytes(of: kind.rawValue, toByteOffset: 4, as: Int32.self)
        p.storeBytes(of: step, toByteOffset: 8, as: Int32.self)
        p.storeBytes(of: microbatch, toByteOffset: 12, as: Int32.self)
        p.storeBytes(of: sourceStage, toByteOffset: 16, as: Int32.self)
        p.storeBytes(of: rows, toByteOffset: 20, as: Int32.self)
        p.storeBytes(of: floats, toByteOffset: 24, as: Int64.self)
        p.storeBytes(of: sourceRank, toByteOffset: 32, as: Int32.self)
        p.storeBytes(of: block, toByteOffset: 36, as: Int32.self)
    }

    public static func read(from p: UnsafeRawPointer) -> MessageHeader? {
        guard p.load(fromByteOffset: 0, as: Int32.self) == magic,
              let kind = MessageKind(rawValue: p.load(fromByteOffset: 4, as: Int32.self)) else { return nil }
        var h = MessageHeader(kind: kind, step: 0, microbatch: 0, sourceStage: 0, rows: 0, floats: 0, sourceRank: 0)
        h.step = p.load(fromByteOffset: 8, as: Int32.self)
        h.microbatch = p.load(fromByteOffset: 12, as: Int32.self)
        h.sourceStage = p.load(fromByteOffset: 16, as: Int32.self)
        h.rows = p.load(fromByteOffset: 20, as: Int32.self)
        h.floats = p.load(fromByteOffset: 24, as: Int64.self)
        h.sourceRank = p.load(fromByteOffset: 32, as: Int32.self)
        h.block = p.load(fromByteOffset: 36, as: Int32.self)
        return h
    }

    /// Throws unless the buffer holds exactly `expected`, naming both.
    public static func check(_ buffer: MessageBuffer, expected: MessageHeader, receiver: Int) throws {
        guard let h = read(from: buffer.raw) else {
            throw DiTError("rank \(receiver): a message without a valid header arrived where \(expected) was due; are all ranks running the same build and config?")
        }
        guard h == expected else {
            throw DiTError("rank \(receiver): expected \(expected) but received \(h); are all ranks running the same config?")
        }
    }

    public var description: String {
        "\(kind) step \(step) micro-batch \(microbatch)\(block >= 0 ? " block \(block)" : "") from rank \(sourceRank) (stage \(sourceStage)), \(rows) rows, \(floats) floats"
    }
}

/// A message buffer: header, then Float32 payload.
public final class MessageBuffer {
    public let bytes: Int
    public let raw: UnsafeMutableRawPointer
    public var payload: UnsafeMutablePointer<Float> { (raw + MessageHeader.size).assumingMemoryBound(to: Float.self) }
    /// Outstanding sends or the receive posted into this buffer.
    public var requests: [Int] = []

    public let floats: Int

    public init(floats: Int) {
        self.floats = floats
        bytes = MessageHeader.size + 4 * floats
        raw = .allocate(byteCount: bytes, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
    }
    deinit { raw.deallocate() }
}
