import Foundation

/// The layout of activation dump files (docs/dump-format.md), written down
/// once: file, group and dataset names, attribute names and their order,
/// and which rows of a dataset belong to which image. Names and arithmetic
/// only, no HDF5: `HDF5Sink` writes this layout, `HDF5DumpSource` reads it,
/// `dit dump merge` rewrites it as the merged layout, and `MemoryDump`
/// keeps the same entries in memory.
public enum DumpLayout {
    /// Root attributes `format`, `format_version` (of rank files) and `layout`.
    public static let format = "dit-pipe activation dump"
    public static let formatVersion = 2
    public static let rankLayout = "rank", mergedLayout = "merged"

    // MARK: files

    /// PATH with `.rankN` before its extension (`.h5` when it has none).
    public static func rankPath(_ path: String, rank: Int) -> String {
        Stages.rankPath(path, rank: rank, defaultExtension: "h5")
    }

    /// The rank files' name for messages: `d.rankN.h5`.
    public static func rankFilePattern(_ path: String) -> String {
        URL(fileURLWithPath: rankPath(path, "N")).lastPathComponent
    }

    private static func rankPath(_ path: String, _ rank: String) -> String {
        let (stem, ext) = split(path)
        return stem + ".rank\(rank).\(ext)"
    }

    /// The name a rank file has while it is written, and after a killed run.
    public static func partialPath(_ rankPath: String) -> String { rankPath + ".partial" }

    /// The rank of the file `name` in the directory of `--dump path`, when it
    /// is one of that dump's rank files (`partial`: a `.partial` file).
    public static func rank(ofFile name: String, dump path: String) -> (rank: Int, partial: Bool)? {
        let (stem, ext) = split(path)
        let base = URL(fileURLWithPath: stem).lastPathComponent + ".rank"
        guard name.hasPrefix(base) else { return nil }
        let rest = name.dropFirst(base.count)
        let digits = rest.prefix { $0.isNumber }
        guard let rank = Int(digits) else { return nil }
        switch rest.dropFirst(digits.count) {
        case ".\(ext)": return (rank, false)
        case ".\(ext)" + ".partial": return (rank, true)
        default: return nil
        }
    }

    /// A path without its extension, and the extension (`h5` when none).
    private static func split(_ path: String) -> (stem: String, ext: String) {
        let url = URL(fileURLWithPath: path)
        return (url.deletingPathExtension().path, url.pathExtension.isEmpty ? "h5" : url.pathExtension)
    }

    // MARK: groups and datasets

    /// `/step_k`, in rank and merged files.
    public static func stepGroup(_ step: Int) -> String { "/step_\(step)" }
    /// k of a group named `step_k`.
    public static func step(ofGroup name: String) -> Int? { number(after: "step_", in: name) }

    /// A rank file's group of micro-batches, named after its first
    /// micro-batch m: `/step_k/mb_m`, and `/step_k/mb_m_s` for the s-th
    /// later group of the same step starting at m (steps written in parts).
    public static func microbatchGroup(step: Int, microbatch m: Int, split s: Int = 0) -> String {
        stepGroup(step) + "/mb_\(m)" + (s == 0 ? "" : "_\(s)")
    }
    public static func isMicrobatchGroup(_ name: String) -> Bool { name.hasPrefix("mb_") }
    /// m of a group named `mb_m` (not `mb_m_s`: format 2 names m in the group's attributes).
    public static func microbatch(ofGroup name: String) -> Int? { number(after: "mb_", in: name) }

    /// The dataset of consecutive blocks f, f+1, … of a micro-batch group.
    public static func blocksDataset(first f: Int) -> String { "blocks_\(f)" }
    /// f of a dataset named `blocks_f`.
    public static func firstBlock(ofDataset name: String) -> Int? { number(after: "blocks_", in: name) }

    /// A merged file's group of one image at one step.
    public static func imageGroup(step: Int, image: Int) -> String { stepGroup(step) + "/image_\(image)" }
    /// i of a group named `image_i`.
    public static func image(ofGroup name: String) -> Int? { number(after: "image_", in: name) }
    /// A merged file's dataset of one entry: `/step_k/image_i/{point}`.
    public static func mergedDataset(_ key: DumpKey) -> String { imageGroup(step: key.step, image: key.image) + "/" + key.pointName }

    private static func number(after prefix: String, in name: String) -> Int? {
        name.hasPrefix(prefix) ? Int(name.dropFirst(prefix.count)) : nil
    }

    // MARK: attributes

    /// A step group's attributes, in the order written.
    public static func stepAttributes(step: Int, timestep: AttributeValue) -> [(String, AttributeValue)] {
        [("step", .int(step)), ("timestep", timestep)]
    }

    /// A rank file's root attributes that a merged file does not keep.
    public static let rankOnlyRootAttributes: Set<String> = ["rank", "stage", "blocks", "layout"]

    /// A merged file's root attributes from its sources' (the first file's)
    /// and the files merged, in the order written.
    public static func mergedRootAttributes(_ source: [String: AttributeValue], files: [String]) -> [(String, AttributeValue)] {
        source.sorted { $0.key < $1.key }.filter { !rankOnlyRootAttributes.contains($0.key) }
            + [("layout", .string(mergedLayout)), ("merged_from", .string(files.joined(separator: ",")))]
    }

    /// A merged dataset's attributes, in the order written; `source`: the
    /// attributes the entry had in its rank file (its micro-batch group's,
    /// with the file's rank and stage).
    public static func mergedAttributes(_ key: DumpKey, timestep: AttributeValue, parts: Int,
                                        source: [String: AttributeValue]) -> [(String, AttributeValue)] {
        var out: [(String, AttributeValue)] = [("point", .string(key.point.rawValue)), ("step", .int(key.step)), ("timestep", timestep),
                                               ("image", .int(key.image)), ("doubled", .int(parts == 2 ? 1 : 0))]
        if let b = key.block { out.append(("block", .int(b))) }
        for k in ["rank", "stage", "microbatch"] { if let v = source[k] { out.append((k, v)) } }
        return out
    }

    // MARK: rows

    /// The row of part p of image j among n images: a dataset holds part 0
    /// (conditional) of every image, then part 1 (unconditional) of every
    /// image, in the same order.
    public static func row(part p: Int, image j: Int, of n: Int) -> Int { p * n + j }

    /// A rank file's micro-batch group: the kept images of one or more
    /// micro-batches of a step, concatenated in micro-batch order.
    public struct Group: Equatable, Sendable {
        /// Global image index of each row.
        public let images: [Int]
        /// The micro-batch of each image.
        public let microbatches: [Int]
        /// True when the run uses guidance (doubled points may hold 2 parts).
        public let doubled: Bool

        public init(images: [Int], microbatches: [Int], doubled: Bool) {
            self.images = images; self.microbatches = microbatches; self.doubled = doubled
        }

        /// The group described by `attributes` (a format 1 dataset's, too); nil without images.
        public init?(attributes: [String: AttributeValue]) {
            guard let images = attributes["images"]?.ints else { return nil }
            self.init(images: images, microbatches: attributes["microbatches"]?.ints ?? [], doubled: attributes["doubled"]?.int == 1)
        }

        /// The group's first micro-batch, which names it.
        public var microbatch: Int { microbatches.min() ?? 0 }

        /// The group's attributes, in the order written.
        public var attributes: [(String, AttributeValue)] {
            [("images", .ints(images)), ("doubled", .int(doubled ? 1 : 0)), ("microbatch", .int(microbatch)),
             ("microbatches", .ints(microbatches))]
        }

        /// Parts per image of a point with `rows` rows: 1, or 2 for
        /// [cond; uncond] with guidance; nil when it is neither.
        public func parts(rows: Int) -> Int? {
            if rows == images.count { return 1 }
            if doubled, rows == 2 * images.count { return 2 }
            return nil
        }

        /// The rows of image j (its index in `images`), one per part, in
        /// a point's dataset, or in block `b` (its index on the leading
        /// axis) of a `blocks_f` dataset.
        public func rows(image j: Int, parts: Int, block b: Int = 0) -> [Int] {
            (0..<parts).map { b * parts * images.count + row(part: $0, image: j, of: images.count) }
        }
    }

    /// How a recorded tensor's rows map to its micro-batch's images (padding
    /// included): rows [conditional; unconditional] for doubled tensors, as
    /// in a file's datasets. x_t and model_out hold conditional rows only.
    public struct Rows: Sendable {
        public let n: Int
        public let parts: Int
        public let rowSize: Int

        public init(rows: RowInfo, shape: [Int]) {
            n = rows.images.count
            parts = rows.doubled && shape[0] == 2 * n ? 2 : 1
            rowSize = shape.dropFirst().reduce(1, *)
        }

        public func rowIndices(image j: Int) -> [Int] { (0..<parts).map { row(part: $0, image: j, of: n) } }

        /// The shape of one image's entry: (parts, ...).
        public func entryShape(_ shape: [Int]) -> [Int] { [parts] + shape.dropFirst() }
    }
}
