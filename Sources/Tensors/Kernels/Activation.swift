import Foundation

/// Elementwise activations and row softmax.
public enum Activation {
    /// y = x · sigmoid(x)
    public static func silu(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
        for i in 0..<count { let v = x[i]; y[i] = v / (1 + expf(-v)) }
    }

    /// GELU with the tanh approximation (PyTorch `approximate="tanh"`), in place.
    public static func geluTanh(_ x: UnsafeMutablePointer<Float>, count: Int) {
        let k: Float = 0.7978845608028654 // sqrt(2/pi)
        for i in 0..<count {
            let v = x[i]
            x[i] = 0.5 * v * (1 + tanhf(k * (v + 0.044715 * v * v * v)))
        }
    }

    /// Softmax of each row in place, subtracting the row maximum first.
    public static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, stride: Int? = nil) {
        let ld = stride ?? cols
        for r in 0..<rows {
            let row = x + r * ld
            var m = -Float.infinity
            for j in 0..<cols where row[j] > m { m = row[j] }
            var s: Float = 0
            for j in 0..<cols { let e = expf(row[j] - m); row[j] = e; s += e }
            let inv = 1 / s
            for j in 0..<cols { row[j] *= inv }
        }
    }
}
