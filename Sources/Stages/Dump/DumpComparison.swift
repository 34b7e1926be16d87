import Foundation

/// Compares two dumps entry by entry in execution order and stops at the
/// first entry where some value differs by more than atol + rtol·|b|
/// (numpy's allclose; NaN matches only NaN).
public struct DumpComparison {
    /// The worst difference of one entry.
    public struct Difference: Sendable {
        public let key: DumpKey
        public let maxAbs: Double
        /// max |a − b| / |b| over values with b ≠ 0.
        public let maxRel: Double
        /// Flat index, a and b of the value furthest over tolerance (or of
        /// the largest difference when none is).
        public let worstIndex: Int
        public let a: Float, b: Float
        public let exceeds: Bool
        public let count: Int
    }

    public let rtol: Double, atol: Double
    /// Every compared entry up to and including the first failure.
    public private(set) var differences: [Difference] = []
    public var firstFailure: Difference? { differences.last.flatMap { $0.exceeds ? $0 : nil } }
    /// Entries present on one side only (not compared).
    public private(set) var onlyInA: [DumpKey] = []
    public private(set) var onlyInB: [DumpKey] = []

    /// Throws when the dumps cannot be compared at all: different models,
    /// different shapes, nothing in common.
    public init(_ a: DumpSource, _ b: DumpSource, rtol: Double, atol: Double) throws {
        self.rtol = rtol; self.atol = atol
        if let ma = a.attributes["model_config"], let mb = b.attributes["model_config"],
           !Self.sameJSON(ma, mb) {
            throw DiTError("the dumps come from different models: \(a.name) has model_config \(ma) but \(b.name) has \(mb); compare runs of the same model")
        }
        let keys = a.shapes.keys.filter { b.shapes[$0] != nil }.sorted()
        onlyInA = a.shapes.keys.filter { b.shapes[$0] == nil }.sorted()
        onlyInB = b.shapes.keys.filter { a.shapes[$0] == nil }.sorted()
        guard !keys.isEmpty else {
            throw DiTError("\(a.name) and \(b.name) have no entry in common (\(a.shapes.count) and \(b.shapes.count) entries); dump the same steps, points and images on both sides")
        }
        for key in keys {
            let sa = a.shapes[key]!, sb = b.shapes[key]!
            guard sa == sb else {
                throw DiTError("\(key): shape \(sa) in \(a.name) but \(sb) in \(b.name); the dumps come from different models or settings")
            }
        }
        for key in keys {
            let d = Self.difference(key, try a.read(key), try b.read(key), rtol: rtol, atol: atol)
            differences.append(d)
            if d.exceeds { break }
        }
    }

    static func difference(_ key: DumpKey, _ a: [Float], _ b: [Float], rtol: Double, atol: Double) -> Difference {
        var maxAbs = 0.0, maxRel = 0.0, worst = 0, worstOver = -Double.infinity, exceeds = false
        for i in 0..<min(a.count, b.count) {
            let x = Double(a[i]), y = Double(b[i])
            if x.isNaN || y.isNaN {
                if x.isNaN != y.isNaN { exceeds = true; if worstOver < .infinity { worstOver = .infinity; worst = i } }
                continue
            }
            let d = x == y ? 0 : abs(x - y)   // equal infinities differ by 0
            maxAbs = max(maxAbs, d)
            if y != 0 { maxRel = max(maxRel, d / abs(y)) }
            let over = d - (atol + rtol * abs(y))
            if over > 0 { exceeds = true }
            if over > worstOver { worstOver = over; worst = i }
        }
        if a.count != b.count { exceeds = true }
        return Difference(key: key, maxAbs: maxAbs, maxRel: maxRel, worstIndex: worst,
                          a: worst < a.count ? a[worst] : .nan, b: worst < b.count ? b[worst] : .nan,
                          exceeds: exceeds, count: min(a.count, b.count))
    }

    /// Equal JSON objects, whatever the key order and number spelling (4 vs 4.0).
    public static func sameJSON(_ a: String, _ b: String) -> Bool {
        func parse(_ s: String) -> NSDictionary? {
            s.data(using: .utf8).flatMap { try? JSONSerialization.jsonObject(with: $0) as? NSDictionary }
        }
        guard let x = parse(a), let y = parse(b) else { return a == b }
        return x.isEqual(y)
    }
}
