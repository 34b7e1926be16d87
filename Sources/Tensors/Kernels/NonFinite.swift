/// Finds NaN and ±Inf fast: a max over the exponent bits (which vectorises)
/// says whether any value has the all-ones exponent; only then is the first
/// such index looked for. `firstIndexNaive` is its twin for tests.
public enum NonFinite {
    public static func firstIndex(_ p: UnsafePointer<Float>, count: Int) -> Int? {
        let exponent: UInt32 = 0x7F80_0000
        var top: UInt32 = 0
        p.withMemoryRebound(to: UInt32.self, capacity: count) { bits in
            for i in 0..<count { top = max(top, bits[i] & exponent) }
        }
        return top == exponent ? firstIndexNaive(p, count: count) : nil
    }

    public static func firstIndexNaive(_ p: UnsafePointer<Float>, count: Int) -> Int? {
        (0..<count).first { !p[$0].isFinite }
    }
}
