import ArgumentParser
import Foundation
import Stages
import Tensors

/// `dit dump`: inspect, compare and merge activation dumps written by
/// `dit sample --dump` or tools/torch_dump.py (docs/dump-format.md).
struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Inspect, compare and merge activation dumps (dit sample --dump).",
        discussion: """
            Every subcommand takes a dump file, comma-separated files, or the PATH given to --dump \
            (expanded to PATH.rankN.h5).

            Example: dit dump compare out/one.h5 out/four.h5 --json
            """,
        subcommands: [DumpListCommand.self, DumpCompareCommand.self, DumpShowCommand.self, DumpMergeCommand.self])
}

/// `dit dump ls FILE`: the tree with shapes and attributes.
struct DumpListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List a dump file: groups, datasets, shapes, attributes.",
        discussion: "Example: dit dump ls out/dump.h5 --brief   (lists out/dump.rank0.h5, out/dump.rank1.h5, ...)")

    @Argument(help: "A dump file (any HDF5 file), comma-separated files, or the --dump PATH.") var file: String
    @Flag(help: "Omit dataset attributes.") var brief = false

    func run() throws {
        for path in try HDF5DumpSource.resolve(file) {
            let f = try H5Reader(path: path)
            print("\(path)")
            for (k, v) in try f.attributes("/").sorted(by: { $0.key < $1.key }) { print("  @\(k) = \(v)") }
            try walk(f, "/", depth: 1)
        }
    }

    func walk(_ f: H5Reader, _ group: String, depth: Int) throws {
        let pad = String(repeating: "  ", count: depth)
        for child in try f.children(group).sorted(by: Self.natural) {
            let path = group == "/" ? "/\(child)" : "\(group)/\(child)"
            let attrs = try f.attributes(path).sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            if f.isGroup(path) {
                print("\(pad)\(child)/" + (attrs.isEmpty ? "" : "  \(attrs)"))
                try walk(f, path, depth: depth + 1)
            } else {
                let shape = try f.shape(path).map(String.init).joined(separator: "×")
                print("\(pad)\(child)  float32 \(shape)" + (brief || attrs.isEmpty ? "" : "  \(attrs)"))
            }
        }
    }

    /// step_2 before step_10.
    static func natural(_ a: String, _ b: String) -> Bool {
        a.compare(b, options: .numeric) == .orderedAscending
    }
}

/// `dit dump compare A B`: first divergence in execution order.
struct DumpCompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two dumps by image, step and point; stop at and name the first point over tolerance.",
        discussion: """
        A and B are each a dump file, comma-separated files, or the PATH given to --dump (expanded to \
        PATH.rankN.h5). A value fails when |a - b| > atol + rtol·|b|. Exit status 1 when a point fails.

        Example: dit dump compare out/one.h5 out/four.h5 --rtol 0 --atol 0
        """)

    @Argument(help: "Dump A (e.g. a 1-stage run).") var a: String
    @Argument(help: "Dump B (e.g. a 4-stage run, or tools/torch_dump.py's file).") var b: String
    @Option(help: "Relative tolerance.") var rtol: Double = 1e-5
    @Option(help: "Absolute tolerance.") var atol: Double = 1e-6
    @Flag(help: "Print the result as one JSON object (docs/formats.md).") var json = false

    func run() throws {
        var lines: [String] = []
        func say(_ line: String) { if !json { print(line) } else { lines.append(line) } }
        let da = try HDF5DumpSource(a), db = try HDF5DumpSource(b)
        say("A: \(da.files.map(\.path).joined(separator: ", ")) (\(plural(da.shapes.count, "entry", "entries")))")
        say("B: \(db.files.map(\.path).joined(separator: ", ")) (\(plural(db.shapes.count, "entry", "entries")))")
        let settings = ["checkpoint_sha256", "sampler", "steps", "respacing", "eta", "cfg_scale", "guidance", "noise", "classes"]
        let differing = settings.filter { k in da.attributes[k].map { $0 != db.attributes[k] ?? $0 } ?? false }
        if !differing.isEmpty { say("note: the dumps differ in \(differing.joined(separator: ", "))") }
        let cmp = try DumpComparison(da, db, rtol: rtol, atol: atol)
        if !cmp.onlyInA.isEmpty || !cmp.onlyInB.isEmpty {
            say("note: \(cmp.onlyInA.count) entries only in A, \(cmp.onlyInB.count) only in B (not compared)")
        }
        // Per point (in execution order): steps and worst errors so far.
        var rows: [(name: String, steps: Set<Int>, abs: Double, rel: Double)] = []
        var index: [String: Int] = [:]
        for d in cmp.differences {
            let n = d.key.pointName
            if index[n] == nil { index[n] = rows.count; rows.append((n, [], 0, 0)) }
            let i = index[n]!
            rows[i].steps.insert(d.key.step)
            rows[i].abs = max(rows[i].abs, d.maxAbs)
            rows[i].rel = max(rows[i].rel, d.maxRel)
        }
        let order = rows.sorted {
            let ka = DumpKey.point(named: $0.name)!, kb = DumpKey.point(named: $1.name)!
            return DumpKey(step: 0, point: ka.0, block: ka.1, image: 0) < DumpKey(step: 0, point: kb.0, block: kb.1, image: 0)
        }
        say("compared \(cmp.differences.count) entries (rtol \(rtol), atol \(atol))")
        say("point          steps   max abs      max rel")
        for r in order {
            say(r.name.padding(toLength: 14, withPad: " ", startingAt: 0) + String(format: " %5d   %-12.4g %-12.4g", r.steps.count, r.abs, r.rel))
        }
        var result: [String: Any] = [
            "a": da.files.map(\.path), "b": db.files.map(\.path), "rtol": rtol, "atol": atol, "compared": cmp.differences.count,
            "only_in_a": cmp.onlyInA.count, "only_in_b": cmp.onlyInB.count, "settings_differ": differing,
            "points": order.map { ["point": $0.name, "steps": $0.steps.count, "max_abs": $0.abs, "max_rel": $0.rel] as [String: Any] },
            "identical": cmp.differences.allSatisfy { $0.maxAbs == 0 },
        ]
        func emit() throws {
            if json { print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)) }
        }
        guard let f = cmp.firstFailure else {
            let bitwise = cmp.differences.allSatisfy { $0.maxAbs == 0 }
            say(bitwise ? "OK: every compared value is identical" : "OK: every compared value is within tolerance")
            result["ok"] = true
            try emit()
            return
        }
        let shape = da.shapes[f.key]!
        var rest = f.worstIndex, idx: [Int] = []
        for s in shape.reversed() { idx.append(rest % max(s, 1)); rest /= max(s, 1) }
        let t = da.timestep(f.key.step).map { " (t=\($0))" } ?? ""
        let where_ = f.key.place
        let at = idx.reversed().map(String.init).joined(separator: ", "), dims = shape.map(String.init).joined(separator: ", ")
        say("FIRST DIVERGENCE: step \(f.key.step)\(t), \(where_), image \(f.key.image): max abs \(String(format: "%.4g", f.maxAbs)), max rel \(String(format: "%.4g", f.maxRel)); worst at (\(at)) of shape (\(dims)): A \(f.a), B \(f.b)")
        result["ok"] = false
        result["first_divergence"] = ["step": f.key.step, "point": f.key.pointName, "image": f.key.image, "max_abs": f.maxAbs,
                                      "max_rel": f.maxRel, "worst_index": Array(idx.reversed()), "shape": shape, "a": f.a, "b": f.b] as [String: Any]
        try emit()
        throw ExitCode(1)
    }
}

/// `dit dump show FILE POINT`: statistics of one point.
struct DumpShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Statistics (min, max, mean, std, NaN/Inf count) of one point.",
        discussion: "POINT is a dataset path (/step_0/mb_0/block_2) or a point name (x_t, embed, c, block_N, block_N_adaLN, block_N_attn, block_N_mlp, final, model_out), narrowed by --step and --image.")

    @Argument(help: "A dump file, comma-separated files, or the --dump PATH.") var file: String
    @Argument(help: "Dataset path or point name.") var point: String
    @Option(help: "Only this step.") var step: Int?
    @Option(help: "Only this image.") var image: Int?

    func run() throws {
        if point.hasPrefix("/") {
            let files = try HDF5DumpSource.resolve(file).map { try H5Reader(path: $0) }
            guard let f = files.first(where: { !$0.isGroup(point) && (try? $0.shape(point)) != nil }) else {
                throw DiTError("\(file): no dataset \(point); see dit dump ls \(file)")
            }
            print("\(point)  \(try f.shape(point).shapeDescription)  " + Self.stats(try f.floats(point)))
            return
        }
        guard let (p, block) = DumpKey.point(named: point) else {
            throw DiTError("unknown point '\(point)'; use x_t, embed, c, block_N, block_N_adaLN, block_N_attn, block_N_mlp, final, model_out or a dataset path")
        }
        let d = try HDF5DumpSource(file)
        let keys = d.shapes.keys.filter {
            $0.point == p && $0.block == block && (step == nil || $0.step == step) && (image == nil || $0.image == image)
        }.sorted()
        guard !keys.isEmpty else { throw DiTError("\(file): no entries for \(point)" + (step.map { " at step \($0)" } ?? "") + (image.map { " for image \($0)" } ?? "")) }
        for key in keys {
            print("step \(key.step) image \(key.image) \(point)  \(d.shapes[key]!.shapeDescription)  " + Self.stats(try d.read(key)))
        }
    }

    static func stats(_ v: [Float]) -> String {
        var nan = 0, inf = 0, n = 0, lo = Float.infinity, hi = -Float.infinity, sum = 0.0, sq = 0.0
        for x in v {
            if x.isNaN { nan += 1; continue }
            if x.isInfinite { inf += 1; continue }
            n += 1; lo = min(lo, x); hi = max(hi, x); sum += Double(x); sq += Double(x) * Double(x)
        }
        let mean = n > 0 ? sum / Double(n) : .nan
        let std = n > 0 ? (max(sq / Double(n) - mean * mean, 0)).squareRoot() : .nan
        return String(format: "min %.6g  max %.6g  mean %.6g  std %.6g  NaN %d  Inf %d", lo, hi, mean, std, nan, inf)
    }
}

/// `dit dump merge OUT FILES...`: one file keyed by step, image and point.
struct DumpMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge", abstract: "Join per-rank dump files into one file keyed by step, image and point.")

    @Argument(help: "The merged file to write.") var output: String
    @Argument(help: "Rank files (or the --dump PATH, expanded to PATH.rankN.h5).") var files: [String]

    func run() throws {
        let source = try HDF5DumpSource(paths: files.flatMap { try HDF5DumpSource.resolve($0) })
        try source.writeMerged(to: output)
        print("\(output): \(plural(source.shapes.count, "entry", "entries")) from \(plural(source.files.count, "file"))")
    }
}
