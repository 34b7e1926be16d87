import Foundation

/// A `DumpConfig` resolved against one run: which steps, points and images
/// a sink records. Step k is the k-th sampler step (0 = the noisiest).
public struct DumpSelection: Equatable, Sendable {
    public let steps: Set<Int>
    public let points: Set<DumpPoint>
    /// nil = every image.
    public let images: Set<Int>?

    /// The point names a config may give, in execution order.
    public static let pointNames = ["x_t", "embed", "c", "block", "block_internals", "final", "model_out", "all"]

    public init(_ config: DumpConfig, stepCount: Int) throws {
        steps = try StepSpec(config.steps).resolve(stepCount: stepCount)
        points = try Self.parsePoints(config.points)
        images = config.images.map(Set.init)
        if let bad = config.images?.first(where: { $0 < 0 }) {
            throw DiTError("dump images: \(bad) is not an image index; give indices ≥ 0")
        }
    }

    public init(steps: Set<Int>, points: Set<DumpPoint>, images: Set<Int>? = nil) {
        self.steps = steps; self.points = points; self.images = images
    }

    public func wants(_ point: DumpPoint, step: Int) -> Bool { points.contains(point) && steps.contains(step) }
    public func wants(image: Int) -> Bool { image >= 0 && (images?.contains(image) ?? true) }

    static func splitList(_ s: String) -> [String] {
        s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    public static func parsePoints(_ names: [String]) throws -> Set<DumpPoint> {
        var out = Set<DumpPoint>()
        for name in names.flatMap(splitList) {
            if name == "all" { out.formUnion(DumpPoint.all); continue }
            if name == "block_internals" { out.formUnion(DumpPoint.blockInternals); continue }
            guard let p = DumpPoint(rawValue: name), !DumpPoint.blockInternals.contains(p) else {
                throw DiTError("dump points: unknown point '\(name)'; allowed: \(pointNames.joined(separator: ", "))")
            }
            out.insert(p)
        }
        if out.isEmpty { throw DiTError("dump points: none given; allowed: \(pointNames.joined(separator: ", "))") }
        return out
    }

    /// A steps spec, parsed before the step count is known.
    public enum StepSpec: Equatable, Sendable {
        case all, first, last
        case list([Int])
        case range(ClosedRange<Int>)
        case every(Int)
        indirect case union([StepSpec])

        static let help = "use all, first, last, first,last, a list 0,5,9, a range 0-9, or every:K"

        public init(_ text: String) throws {
            let parts = DumpSelection.splitList(text)
            guard !parts.isEmpty else { throw DiTError("dump steps: empty; \(Self.help)") }
            if parts.count > 1 { self = .union(try parts.map { try StepSpec($0) }); return }
            let s = parts[0]
            switch s {
            case "all": self = .all
            case "first": self = .first
            case "last": self = .last
            default:
                if s.hasPrefix("every:") {
                    guard let k = Int(s.dropFirst(6)), k >= 1 else { throw DiTError("dump steps: '\(s)': K in every:K must be a positive integer") }
                    self = .every(k)
                } else if let k = Int(s) {
                    guard k >= 0 else { throw DiTError("dump steps: '\(s)' is negative; \(Self.help)") }
                    self = .list([k])
                } else if let dash = s.firstIndex(of: "-"), let a = Int(s[..<dash]), let b = Int(s[s.index(after: dash)...]) {
                    guard 0 <= a && a <= b else { throw DiTError("dump steps: range '\(s)' must be low-high with 0 ≤ low ≤ high") }
                    self = .range(a...b)
                } else {
                    throw DiTError("dump steps: '\(s)' is not a steps spec; \(Self.help)")
                }
            }
        }

        public func resolve(stepCount n: Int) throws -> Set<Int> {
            func inRange(_ k: Int) throws -> Int {
                guard k < n else { throw DiTError("dump steps: step \(k) is out of range; this run has \(plural(n, "step")) (0 to \(n - 1))") }
                return k
            }
            switch self {
            case .all: return Set(0..<n)
            case .first: return [0]
            case .last: return [n - 1]
            case .list(let l): return Set(try l.map(inRange))
            case .range(let r): _ = try inRange(r.upperBound); return Set(r)
            case .every(let k): return Set(stride(from: 0, to: n, by: k))
            case .union(let specs): return try specs.reduce(into: Set<Int>()) { $0.formUnion(try $1.resolve(stepCount: n)) }
            }
        }
    }
}
