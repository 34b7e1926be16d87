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

    /// The dataset name of this point inside a micro-batch or image group.
    public var pointName: String { block.map { "block_\($0)" } ?? point.rawValue }

    /// Parses a dataset name written by `pointName`.
    public static func point(named name: String) -> (DumpPoint, Int?)? {
        if name.hasPrefix("block_"), let b = Int(name.dropFirst(6)) { return (.block, b) }
        return DumpPoint(rawValue: name).map { ($0, nil) }
    }

    /// Execution order: step, then point (x_t, embed, c, blocks in order,
    /// final, model_out), then image.
    public static func < (a: DumpKey, b: DumpKey) -> Bool {
        (a.step, a.point.order, a.block ?? -1, a.image) < (b.step, b.point.order, b.block ?? -1, b.image)
    }

    public var description: String {
        "step \(step), " + (block.map { "block \($0)" } ?? point.rawValue) + ", image \(image)"
    }
}

extension DumpPoint {
    var order: Int { DumpPoint.allCases.firstIndex(of: self)! }
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
