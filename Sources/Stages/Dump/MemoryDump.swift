/// A dump held in memory: the in-process twin of the HDF5 rank files. As an
/// `ActivationSink` it keeps what `HDF5Sink` writes (the selected images'
/// rows, laid out by `DumpLayout.Rows`); as a `DumpSource` it gives them
/// back as `HDF5DumpSource` reads a file, so tests compare the two.
public final class MemoryDump: DumpSource, ActivationSink {
    public let name: String
    public var attributes: [String: String]
    public private(set) var shapes: [DumpKey: [Int]] = [:]
    private var values: [DumpKey: [Float]] = [:]
    public let selection: DumpSelection

    public init(name: String, selection: DumpSelection, attributes: [String: String] = [:]) {
        self.name = name; self.selection = selection; self.attributes = attributes
    }

    /// The rank dumps of one run joined, as `dit dump merge` joins rank files.
    public static func merged(_ dumps: [MemoryDump], name: String? = nil) -> MemoryDump {
        let out = MemoryDump(name: name ?? dumps[0].name, selection: dumps[0].selection, attributes: dumps[0].attributes)
        for d in dumps { for (key, v) in d.values { out.set(v, shape: d.shapes[key]!, for: key) } }
        return out
    }

    public func read(_ key: DumpKey) throws -> [Float] {
        guard let v = values[key] else { throw DiTError("\(name): no entry \(key)") }
        return v
    }

    /// Adds or replaces an entry.
    public func set(_ values: [Float], shape: [Int], for key: DumpKey) {
        precondition(values.count == shape.reduce(1, *), "\(key): \(values.count) values for shape \(shape)")
        shapes[key] = shape
        self.values[key] = values
    }

    public func wants(_ point: DumpPoint, step: Int) -> Bool { selection.wants(point, step: step) }

    public func record(_ point: DumpPoint, step: Int, microbatch: Int, block: Int?, rows: RowInfo,
                       data: UnsafePointer<Float>, shape: [Int]) {
        let layout = DumpLayout.Rows(rows: rows, shape: shape)
        for (j, image) in rows.images.enumerated() where selection.wants(image: image) {
            let v = layout.rowIndices(image: j).flatMap {
                Array(UnsafeBufferPointer(start: data + $0 * layout.rowSize, count: layout.rowSize))
            }
            set(v, shape: layout.entryShape(shape), for: DumpKey(step: step, point: point, block: block, image: image))
        }
    }

    public func endStep(_ step: Int) {}
    public func close() {}
}
