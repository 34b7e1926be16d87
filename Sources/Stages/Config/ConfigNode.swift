import Foundation
import Yams

/// One value of an experiment file with the key path that leads to it
/// (`steps`, `dump.points`, `classes[2]`), read so that every error names the
/// path, the value and the type wanted.
///
/// The file is composed by Yams into nodes but never constructed into Swift
/// values, so a duplicate key is still visible, and an alias is refused before
/// anything expands (a YAML "billion laughs" composes in linear time: an
/// alias node is the anchored node itself, with the anchor's position).
public struct ConfigNode {
    public let node: Node
    public let path: String

    /// Experiment files are a screenful of keys; anything larger is not one.
    public static let maxBytes = 1 << 20

    /// The root mapping of `text`.
    public static func parse(_ text: String) throws -> ConfigNode {
        guard text.utf8.count <= maxBytes else {
            throw DiTError("\(text.utf8.count) bytes; an experiment file is at most \(maxBytes) bytes of keys")
        }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw DiTError("not valid YAML (\(error))")
        }
        guard let node else { throw DiTError("empty; an experiment file is a YAML mapping of keys (checkpoint, steps, ...)") }
        try refuseAliases(node)
        return ConfigNode(node: node, path: "")
    }

    /// Every node of a document has its own start among nodes of its kind (a
    /// mapping starts where its first key does); a second one at the same
    /// place is an alias of the first.
    static func refuseAliases(_ root: Node) throws {
        var seen = Set<Int>()
        var stack = [root]
        while let n = stack.popLast() {
            let kind: Int
            switch n { case .scalar: kind = 0; case .sequence: kind = 1; case .mapping: kind = 2 }
            if let m = n.mark, !seen.insert(m.line << 26 | m.column << 2 | kind).inserted {
                throw DiTError("line \(m.line): this value is anchored (&name) and used again by an alias (*name); YAML aliases are not supported in experiment files, write the value out")
            }
            switch n {
            case .scalar: break
            case .sequence(let s): stack.append(contentsOf: s)
            case .mapping(let m): for (k, v) in m { stack.append(k); stack.append(v) }
            }
        }
    }

    func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The value as the error shows it.
    var shown: String {
        switch node {
        case .scalar(let s):
            if isNull { return "nothing (null)" }
            let text = s.string.count > 40 ? String(s.string.prefix(40)) + "…" : s.string
            return "'\(text)'"
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }

    public func fail(_ expected: String) -> DiTError {
        let line = node.mark.map { " (line \($0.line))" } ?? ""
        return DiTError("config key \(path)\(line): expected \(expected), got \(shown)")
    }

    /// `~`, `null` or nothing after the colon.
    public var isNull: Bool {
        guard case .scalar(let s) = node, s.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(s.string)
    }

    private var scalar: String? {
        guard case .scalar(let s) = node, !isNull else { return nil }
        return s.string
    }

    public func string() throws -> String {
        guard let s = scalar else { throw fail("a string") }
        return s
    }

    public func int() throws -> Int {
        guard let s = scalar, let v = Int(s.trimmingCharacters(in: .whitespaces)) else { throw fail("an integer") }
        return v
    }

    public func uint64() throws -> UInt64 {
        guard let s = scalar, let v = UInt64(s.trimmingCharacters(in: .whitespaces)) else { throw fail("a non-negative integer") }
        return v
    }

    public func double() throws -> Double {
        guard let s = scalar, let v = Double(s.trimmingCharacters(in: .whitespaces)) else { throw fail("a number") }
        return v
    }

    public func bool() throws -> Bool {
        guard let s = scalar else { throw fail("true or false") }
        switch s {
        case "true", "True", "TRUE", "yes", "on": return true
        case "false", "False", "FALSE", "no", "off": return false
        default: throw fail("true or false")
        }
    }

    /// A list; one scalar is a one-element list, and a comma-separated
    /// scalar (`3,1,4`, as on the command line) lists its parts.
    public func list() throws -> [ConfigNode] {
        switch node {
        case .sequence(let s):
            return s.enumerated().map { ConfigNode(node: $1, path: "\(path)[\($0)]") }
        case .scalar(let s) where !isNull:
            let parts = s.string.split(separator: ",", omittingEmptySubsequences: false)
            return parts.enumerated().map { i, p in
                ConfigNode(node: .scalar(.init(p.trimmingCharacters(in: .whitespaces), .implicit, .plain, s.mark)),
                           path: parts.count == 1 ? path : "\(path)[\(i)]")
            }
        default:
            throw fail("a list")
        }
    }

    public func ints() throws -> [Int] { try list().map { try $0.int() } }

    /// The pairs of a mapping, in file order; a key not in `keys` or given
    /// twice is an error naming it.
    public func mapping(keys: [String]) throws -> [(key: String, value: ConfigNode)] {
        guard case .mapping(let m) = node else {
            throw path.isEmpty ? DiTError("an experiment file is a YAML mapping of keys (checkpoint, steps, ...)")
                               : fail("a mapping of keys (\(keys.joined(separator: ", ")))")
        }
        var out: [(key: String, value: ConfigNode)] = []
        var lines: [String: Int] = [:]
        for (k, v) in m {
            guard case .scalar(let ks) = k else { throw ConfigNode(node: k, path: path).fail("a key name") }
            let key = ks.string, line = k.mark?.line ?? 0
            if let first = lines[key] {
                throw DiTError("config key \(child(key)) is given twice (lines \(first) and \(line)); keep one")
            }
            lines[key] = line
            guard keys.contains(key) else {
                throw DiTError("unknown config key '\(child(key))' (line \(line)); known keys\(path.isEmpty ? "" : " of \(path)"): \(keys.sorted().joined(separator: ", "))")
            }
            out.append((key, ConfigNode(node: v, path: child(key))))
        }
        return out
    }

    /// nil for a null value, else `read(self)`.
    public func optional<T>(_ read: (ConfigNode) throws -> T) throws -> T? { isNull ? nil : try read(self) }
}
