import Foundation
import Stages

/// One or more dump files (per-rank or merged, docs/dump-format.md) seen as
/// per-image entries, for `dit dump compare/show/merge`.
final class HDF5DumpSource: DumpSource {
    /// Where one entry lives: a dataset and its rows for this image.
    struct Location {
        let file: Int
        let dataset: String
        let rows: [Int]
        let rowSize: Int
        let attributes: [String: AttributeValue]
    }

    let files: [H5Reader]
    let name: String
    let rawAttributes: [String: AttributeValue]
    var attributes: [String: String] { rawAttributes.mapValues(\.description) }
    private(set) var shapes: [DumpKey: [Int]] = [:]
    private(set) var locations: [DumpKey: Location] = [:]
    private var cache: [String: [Float]] = [:]
    private var cacheOrder: [String] = []

    /// `spec`: a file, comma-separated files, or the PATH given to `--dump`
    /// (expanded to PATH.rankN.h5, or PATH.rankN.h5.partial where a run was
    /// killed).
    convenience init(_ spec: String) throws {
        try self.init(paths: Self.resolve(spec))
    }

    init(paths: [String]) throws {
        files = try paths.map { try H5Reader(path: $0) }
        name = paths.count == 1 ? paths[0] : "\(paths[0]) (+\(paths.count - 1) more)"
        rawAttributes = try files[0].attributes("/")
        for (i, f) in files.enumerated() {
            let attrs = i == 0 ? rawAttributes : try f.attributes("/")
            if let m0 = rawAttributes["model_config"], let m = attrs["model_config"],
               !DumpComparison.sameJSON(m0.description, m.description) {
                throw DiTError("\(f.path) comes from a different model than \(files[0].path) (model_config \(m) vs \(m0)); give files of one run per side")
            }
            try index(file: i)
        }
        if shapes.isEmpty { throw DiTError("\(name): no dumped activations found (is it a dit dump file?)") }
    }

    static func resolve(_ spec: String) throws -> [String] {
        var out: [String] = []
        for part in spec.split(separator: ",").map(String.init) {
            if FileManager.default.fileExists(atPath: part) { out.append(part); continue }
            let url = URL(fileURLWithPath: part)
            let dir = url.deletingLastPathComponent().path
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            var byRank: [Int: String] = [:]
            for n in names {
                guard let (r, partial) = DumpLayout.rank(ofFile: n, dump: part) else { continue }
                if !partial || byRank[r] == nil { byRank[r] = n }
            }
            guard !byRank.isEmpty else {
                throw DiTError("\(part): no such file, and no rank files \(DumpLayout.rankFilePattern(part)) in \(dir)")
            }
            out += byRank.keys.sorted().map { URL(fileURLWithPath: dir).appendingPathComponent(byRank[$0]!).path }
        }
        return out
    }

    private func index(file i: Int) throws {
        let f = files[i]
        let root = i == 0 ? rawAttributes : try f.attributes("/")
        for step in try f.children("/") {
            guard let k = DumpLayout.step(ofGroup: step) else { continue }
            let stepGroup = "/\(step)"
            let stepAttrs = try f.attributes(stepGroup)
            for g in try f.children(stepGroup) {
                let group = "\(stepGroup)/\(g)"
                guard f.isGroup(group) else { continue }
                let isMicrobatches = DumpLayout.isMicrobatchGroup(g)
                // Format 2 (rank files): images, doubled, microbatch(es) on the
                // micro-batch group, rank and stage at the root, timestep on
                // the step; format 1 had them on every dataset.
                var groupAttrs = isMicrobatches ? try f.attributes(group) : [:]
                if isMicrobatches {
                    for key in ["rank", "stage"] { if let v = root[key] { groupAttrs[key] = groupAttrs[key] ?? v } }
                    if let t = stepAttrs["timestep"] { groupAttrs["timestep"] = groupAttrs["timestep"] ?? t }
                    if groupAttrs["microbatch"] == nil, let m = DumpLayout.microbatch(ofGroup: g) { groupAttrs["microbatch"] = .int(m) }
                }
                // The attributes of image j of a group holding several micro-batches.
                func attributes(_ j: Int, _ base: [String: AttributeValue], _ layout: DumpLayout.Group) -> [String: AttributeValue] {
                    guard j < layout.microbatches.count else { return base }
                    var a = base
                    a["microbatch"] = .int(layout.microbatches[j])
                    return a
                }
                for d in try f.children(group) {
                    let path = "\(group)/\(d)"
                    if isMicrobatches, let first = DumpLayout.firstBlock(ofDataset: d) {
                        // Consecutive blocks first, first+1, ... as the leading axis.
                        let shape = try f.shape(path)
                        guard shape.count >= 2, let layout = DumpLayout.Group(attributes: groupAttrs), !layout.images.isEmpty else {
                            throw DiTError("\(f.path): \(path) is not a (blocks, rows, ...) dataset with 'images' on its group; not a dit dump file?")
                        }
                        let parts = try Self.parts(shape[1], layout, path, f.path)
                        let rowSize = shape.dropFirst(2).reduce(1, *)
                        for j in 0..<shape[0] {
                            for (r, image) in layout.images.enumerated() {
                                try add(DumpKey(step: k, point: .block, block: first + j, image: image), [parts] + shape.dropFirst(2),
                                        Location(file: i, dataset: path, rows: layout.rows(image: r, parts: parts, block: j), rowSize: rowSize,
                                                 attributes: attributes(r, groupAttrs, layout)))
                            }
                        }
                        continue
                    }
                    guard let (point, block) = DumpKey.point(named: d) else { continue }
                    let shape = try f.shape(path)
                    let rowSize = shape.dropFirst().reduce(1, *)
                    if let image = DumpLayout.image(ofGroup: g) {
                        let attrs = try f.attributes(path)
                        try add(DumpKey(step: k, point: point, block: block, image: image), shape,
                                Location(file: i, dataset: path, rows: Array(0..<shape[0]), rowSize: rowSize, attributes: attrs))
                    } else if isMicrobatches {
                        var attrs = groupAttrs
                        if groupAttrs["images"] == nil { attrs = try f.attributes(path) }  // format 1
                        guard let layout = DumpLayout.Group(attributes: attrs) else {
                            throw DiTError("\(f.path): \(path) has no 'images' attribute; not a dit dump file?")
                        }
                        let parts = try Self.parts(shape.first ?? 0, layout, path, f.path)
                        for (j, image) in layout.images.enumerated() {
                            try add(DumpKey(step: k, point: point, block: block, image: image), [parts] + shape.dropFirst(),
                                    Location(file: i, dataset: path, rows: layout.rows(image: j, parts: parts), rowSize: rowSize,
                                             attributes: attributes(j, attrs, layout)))
                        }
                    }
                }
            }
        }
    }

    /// Rows per image of a dataset with `rows` rows in `group`.
    private static func parts(_ rows: Int, _ group: DumpLayout.Group, _ path: String, _ file: String) throws -> Int {
        guard let parts = group.parts(rows: rows) else {
            throw DiTError("\(file): \(path) has \(rows) rows but \(group.images.count) images" + (group.doubled ? " × 1 or 2" : ""))
        }
        return parts
    }

    private func add(_ key: DumpKey, _ shape: [Int], _ location: Location) throws {
        if let other = locations[key] {
            throw DiTError("\(key) is in both \(files[other.file].path) (\(other.dataset)) and \(files[location.file].path) (\(location.dataset)); give each run's files once")
        }
        shapes[key] = shape
        locations[key] = location
    }

    func read(_ key: DumpKey) throws -> [Float] {
        guard let loc = locations[key] else { throw DiTError("\(name): no entry \(key)") }
        let id = "\(loc.file):\(loc.dataset)"
        let all: [Float]
        if let cached = cache[id] { all = cached } else {
            all = try files[loc.file].floats(loc.dataset)
            cache[id] = all
            cacheOrder.append(id)
            if cacheOrder.count > 16 { cache[cacheOrder.removeFirst()] = nil }
        }
        return loc.rows.flatMap { all[($0 * loc.rowSize)..<(($0 + 1) * loc.rowSize)] }
    }

    /// The timestep of step k, when the dump says.
    func timestep(_ step: Int) -> Int? {
        if let t = rawAttributes["timesteps"]?.ints, step < t.count { return t[step] }
        return nil
    }
}
