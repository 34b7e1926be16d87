import Foundation

/// Naive twins of the convolution-network kernels, in Double, for tests.
extension Reference {
    /// nn.Conv2d written as its definition: every output sums over channels
    /// and the kernel window, skipping positions in the zero padding.
    public static func conv2d(_ x: [Float], batch: Int, geometry g: Conv2d.Geometry,
                              weight: [Float], bias: [Float]?) -> [Float] {
        let ho = g.outHeight, wo = g.outWidth
        var y = [Float](repeating: 0, count: batch * g.outChannels * ho * wo)
        for n in 0..<batch {
            for o in 0..<g.outChannels {
                for r in 0..<ho {
                    for q in 0..<wo {
                        var s = Double(bias?[o] ?? 0)
                        for c in 0..<g.channels {
                            for i in 0..<g.kernelHeight {
                                let ih = r * g.strideHeight - g.padHeight + i
                                guard ih >= 0, ih < g.height else { continue }
                                for j in 0..<g.kernelWidth {
                                    let iw = q * g.strideWidth - g.padWidth + j
                                    guard iw >= 0, iw < g.width else { continue }
                                    s += Double(weight[((o * g.channels + c) * g.kernelHeight + i) * g.kernelWidth + j])
                                        * Double(x[((n * g.channels + c) * g.height + ih) * g.width + iw])
                                }
                            }
                        }
                        y[((n * g.outChannels + o) * ho + r) * wo + q] = Float(s)
                    }
                }
            }
        }
        return y
    }

    /// nn.GroupNorm, optionally followed by SiLU.
    public static func groupNorm(_ x: [Float], batch: Int, channels: Int, spatial: Int, groups: Int, eps: Double,
                                 weight: [Float], bias: [Float], silu: Bool = false) -> [Float] {
        var y = x
        let per = channels / groups * spatial
        for n in 0..<batch {
            for g in 0..<groups {
                let start = (n * channels + g * channels / groups) * spatial
                let v = x[start..<(start + per)].map(Double.init)
                let mean = v.reduce(0, +) / Double(per)
                let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(per)
                for k in 0..<per {
                    let c = g * channels / groups + k / spatial
                    var out = (v[k] - mean) / (variance + eps).squareRoot() * Double(weight[c]) + Double(bias[c])
                    if silu { out = out / (1 + exp(-out)) }
                    y[start + k] = Float(out)
                }
            }
        }
        return y
    }

    /// F.interpolate(scale_factor=2, mode="nearest"): output (r, c) reads input (r/2, c/2).
    public static func upsampleNearest2x(_ x: [Float], planes: Int, height: Int, width: Int) -> [Float] {
        var y = [Float](repeating: 0, count: planes * 4 * height * width)
        for p in 0..<planes {
            for r in 0..<(2 * height) {
                for c in 0..<(2 * width) {
                    y[(p * 2 * height + r) * 2 * width + c] = x[(p * height + r / 2) * width + c / 2]
                }
            }
        }
        return y
    }
}
