import Foundation

/// Elementwise activations and row softmax, 16 lanes at a time with
/// `FastMath.exp`; loop tails go through the same vector code on a partial
/// vector, so every element gets the same function.
public enum Activation {
    /// y = x · sigmoid(x); y may be x.
    public static func silu(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
        Parallel.ranges(count, grain: 1 << 14) { range in
            let xs = x + range.lowerBound, ys = y + range.lowerBound, n = range.count
            var i = 0
            while i + 16 <= n { store16(silu(load16(xs + i)), ys + i); i += 16 }
            if i < n { storePartial(silu(loadPartial(xs + i, n - i, fill: 0)), ys + i, n - i) }
        }
    }

    @inline(__always) static func silu(_ v: SIMD16<Float>) -> SIMD16<Float> { FastMath.timesSigmoid(v, v) }

    /// GELU with the tanh approximation (PyTorch `approximate="tanh"`), in
    /// place: 0.5·x·(1 + tanh(u)) computed as x·sigmoid(2u), the same value
    /// with one exp and no cancellation, u = √(2/π)·(x + 0.044715·x³).
    public static func geluTanh(_ x: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.ranges(count, grain: 1 << 14) { range in
            let p = x + range.lowerBound, n = range.count
            var i = 0
            while i + 16 <= n { store16(gelu(load16(p + i)), p + i); i += 16 }
            if i < n { storePartial(gelu(loadPartial(p + i, n - i, fill: 0)), p + i, n - i) }
        }
    }

    @inline(__always) static func gelu(_ v: SIMD16<Float>) -> SIMD16<Float> {
        let u = v.addingProduct(v * v * v, SIMD16(repeating: 0.044715))
        return FastMath.timesSigmoid(v, SIMD16(repeating: 2 * 0.7978845608028654) * u)
    }

    /// Softmax of each row in place, subtracting the row maximum first.
    public static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, stride: Int? = nil) {
        let ld = stride ?? cols
        for r in 0..<rows { softmax(x + r * ld, count: cols) }
    }

    /// Softmax of one row in place: max, then exp and sum with SIMD
    /// accumulators, then a scale.
    @inline(__always)
    public static func softmax(_ row: UnsafeMutablePointer<Float>, count n: Int) {
        let full = n & ~15, tail = n - full
        var m16 = SIMD16<Float>(repeating: -.infinity)
        var j = 0
        while j < full {
            let v = load16(row + j)
            m16 = m16.replacing(with: v, where: v .> m16)
            j += 16
        }
        if tail > 0 {
            let v = loadPartial(row + full, tail, fill: -.infinity)
            m16 = m16.replacing(with: v, where: v .> m16)
        }
        let m = SIMD16<Float>(repeating: m16.max())
        var s16 = SIMD16<Float>()
        j = 0
        while j < full {
            let e = FastMath.exp(load16(row + j) - m)
            store16(e, row + j); s16 += e
            j += 16
        }
        if tail > 0 {
            var e = FastMath.exp(loadPartial(row + full, tail, fill: 0) - m)
            for i in tail..<16 { e[i] = 0 }
            storePartial(e, row + full, tail); s16 += e
        }
        let inv = SIMD16<Float>(repeating: 1 / s16.sum())
        j = 0
        while j < full { store16(load16(row + j) * inv, row + j); j += 16 }
        if tail > 0 { storePartial(loadPartial(row + full, tail, fill: 0) * inv, row + full, tail) }
    }

    @inline(__always) static func loadPartial(_ p: UnsafePointer<Float>, _ n: Int, fill: Float) -> SIMD16<Float> {
        var v = SIMD16<Float>(repeating: fill)
        for i in 0..<n { v[i] = p[i] }
        return v
    }
    @inline(__always) static func loadPartial(_ p: UnsafeMutablePointer<Float>, _ n: Int, fill: Float) -> SIMD16<Float> {
        loadPartial(UnsafePointer(p), n, fill: fill)
    }
    @inline(__always) static func storePartial(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { p[i] = v[i] }
    }
}

// MARK: - Naive twins

extension Reference {
    public static func silu(_ x: [Float]) -> [Float] { x.map { Float(Double($0) / (1 + exp(-Double($0)))) } }

    public static func geluTanh(_ x: [Float]) -> [Float] {
        x.map { v in
            let d = Double(v)
            return Float(0.5 * d * (1 + tanh((2 / Double.pi).squareRoot() * (d + 0.044715 * d * d * d))))
        }
    }

    public static func softmaxRows(_ x: [Float], rows: Int, cols: Int) -> [Float] {
        var y = x
        for r in 0..<rows {
            let row = x[(r * cols)..<((r + 1) * cols)].map(Double.init)
            let m = row.max()!
            let e = row.map { exp($0 - m) }
            let s = e.reduce(0, +)
            for j in 0..<cols { y[r * cols + j] = Float(e[j] / s) }
        }
        return y
    }
}
