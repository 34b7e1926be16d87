import Foundation

/// Naive twins of the fast kernels: obvious loops in Double, used only by
/// tests to check the fast paths on awkward shapes.
public enum Reference {
    public static func linear(_ x: [Float], rows: Int, inFeatures: Int, weight: [Float], bias: [Float]?,
                              outFeatures: Int) -> [Float] {
        var y = [Float](repeating: 0, count: rows * outFeatures)
        for r in 0..<rows {
            for o in 0..<outFeatures {
                var s = Double(bias?[o] ?? 0)
                for i in 0..<inFeatures { s += Double(x[r * inFeatures + i]) * Double(weight[o * inFeatures + i]) }
                y[r * outFeatures + o] = Float(s)
            }
        }
        return y
    }

    public static func layerNorm(_ x: [Float], rows: Int, cols: Int, eps: Double) -> [Float] {
        var y = x
        for r in 0..<rows {
            let row = x[(r * cols)..<((r + 1) * cols)].map(Double.init)
            let mean = row.reduce(0, +) / Double(cols)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(cols)
            for j in 0..<cols { y[r * cols + j] = Float((row[j] - mean) / (variance + eps).squareRoot()) }
        }
        return y
    }

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

    /// Attention written per query, per key, per head.
    public static func attention(qkv: [Float], batch: Int, tokens: Int, heads: Int, headDim: Int) -> [Float] {
        let dim = heads * headDim
        var out = [Float](repeating: 0, count: batch * tokens * dim)
        for b in 0..<batch {
            for h in 0..<heads {
                for i in 0..<tokens {
                    func at(_ t: Int, _ part: Int, _ d: Int) -> Double {
                        Double(qkv[(b * tokens + t) * 3 * dim + part * dim + h * headDim + d])
                    }
                    var logits = [Double](repeating: 0, count: tokens)
                    for j in 0..<tokens {
                        var s = 0.0
                        for d in 0..<headDim { s += at(i, 0, d) * at(j, 1, d) }
                        logits[j] = s / Double(headDim).squareRoot()
                    }
                    let m = logits.max()!
                    let e = logits.map { exp($0 - m) }
                    let z = e.reduce(0, +)
                    for d in 0..<headDim {
                        var s = 0.0
                        for j in 0..<tokens { s += e[j] / z * at(j, 2, d) }
                        out[(b * tokens + i) * dim + h * headDim + d] = Float(s)
                    }
                }
            }
        }
        return out
    }

    /// A stride-p, p×p convolution computed directly, for checking patchify + linear.
    public static func patchConv(_ x: [Float], batch: Int, channels: Int, height: Int, width: Int, patch p: Int,
                                 weight: [Float], bias: [Float], outChannels: Int) -> [Float] {
        let gh = height / p, gw = width / p
        var y = [Float](repeating: 0, count: batch * gh * gw * outChannels)
        for n in 0..<batch {
            for i in 0..<gh {
                for j in 0..<gw {
                    for o in 0..<outChannels {
                        var s = Double(bias[o])
                        for c in 0..<channels {
                            for py in 0..<p {
                                for px in 0..<p {
                                    s += Double(weight[((o * channels + c) * p + py) * p + px])
                                        * Double(x[((n * channels + c) * height + i * p + py) * width + j * p + px])
                                }
                            }
                        }
                        y[((n * gh + i) * gw + j) * outChannels + o] = Float(s)
                    }
                }
            }
        }
        return y
    }
}
