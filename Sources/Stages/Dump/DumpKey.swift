/// One image's slice of one recorded point: the unit that dumps of different
/// layouts (per-rank files, merged files, PyTorch) are compared by.
public struct DumpKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let step: Int
    public let point: DumpPoint
    /// Global block index for `.block`, else nil.
    public let block: Int?
    public let image: Int

    public init(step: Int, point: DumpPoint, block: Int? = nil, image: Int) {
        self.step = step; self.point = point; self.block = block; self.image = image
    }

    /// The dataset name of this point inside a micro-batch or image group:
    /// `x_t`, `block_3`, `block_3_attn`.
    public var pointName: String {
        guard let block else { return point.rawValue }
        return point == .block ? "block_\(block)" : "block_\(block)_\(point.rawValue)"
    }

    /// Parses a dataset name written by `pointName`.
    public static func point(named name: String) -> (DumpPoint, Int?)? {
        guard name.hasPrefix("block_") else {
            return DumpPoint(rawValue: name).flatMap { $0.isInBlock ? nil : ($0, nil) }
        }
        let rest = name.dropFirst(6), digits = rest.prefix { $0.isNumber }
        guard let b = Int(digits) else { return nil }
        if digits.count == rest.count { return (.block, b) }
        let tail = rest.dropFirst(digits.count)
        guard tail.first == "_", let p = DumpPoint(rawValue: String(tail.dropFirst())), p.isInBlock, p != .block else { return nil }
        return (p, b)
    }

    /// Execution order: step, then point (x_t, embed, c, blocks in order —
    /// each block's adaLN, attn and mlp before its output — final,
    /// model_out), then image.
    public static func < (a: DumpKey, b: DumpKey) -> Bool {
        (a.step, a.point.order, a.block ?? -1, a.point.orderInBlock, a.image)
            < (b.step, b.point.order, b.block ?? -1, b.point.orderInBlock, b.image)
    }

    /// Where in the model: `x_t`, `block 3`, `block 3 attn`.
    public var place: String {
        guard let block else { return point.rawValue }
        return point == .block ? "block \(block)" : "block \(block) \(point.rawValue)"
    }

    public var description: String { "step \(step), \(place), image \(image)" }
}

extension DumpPoint {
    /// The points inside a block, asked for together as `block_internals`.
    public static let blockInternals: Set<DumpPoint> = [.adaLN, .attn, .mlp]
    /// What `all` asks for: every point but the block internals, which
    /// would triple a dump.
    public static let all = Set(allCases).subtracting(blockInternals)

    /// Recorded once per block, with its index.
    var isInBlock: Bool { self == .block || DumpPoint.blockInternals.contains(self) }
    /// Execution order of the points; a block's points share one place.
    var order: Int { DumpPoint.allCases.firstIndex(of: isInBlock ? .block : self)! }
    /// Order inside a block: adaLN, attn, mlp, then the block's output.
    var orderInBlock: Int {
        switch self {
        case .adaLN: return 0
        case .attn: return 1
        case .mlp: return 2
        default: return 3
        }
    }
}

/// A dump seen as per-image entries, whatever its files and layout.
public protocol DumpSource: AnyObject {
    /// The files, for messages.
    var name: String { get }
    /// Root attributes (model_config, checkpoint_sha256, sampler, ...).
    var attributes: [String: String] { get }
    /// Every entry and its shape: (parts, ...) where parts is 2 for a
    /// [conditional; unconditional] pair and 1 otherwise.
    var shapes: [DumpKey: [Int]] { get }
    /// The values of one entry, row-major in its shape.
    func read(_ key: DumpKey) throws -> [Float]
}
