/// Conversions between images (N, C, H, W) and rows of non-overlapping p×p
/// patches, the im2col of a stride-p convolution with a p×p kernel.
public enum Patch {
    /// out[(n·gh + i)·gw + j][c·p·p + py·p + px] = x[n][c][i·p + py][j·p + px],
    /// the column order of a Conv2d weight (D, C, p, p) flattened to (D, C·p·p).
    public static func patchify(_ x: UnsafePointer<Float>, batch: Int, channels: Int, height: Int, width: Int,
                                patch p: Int, into out: UnsafeMutablePointer<Float>) {
        let gh = height / p, gw = width / p, cols = channels * p * p
        for n in 0..<batch {
            for i in 0..<gh {
                for j in 0..<gw {
                    let row = out + ((n * gh + i) * gw + j) * cols
                    for c in 0..<channels {
                        let plane = x + (n * channels + c) * height * width
                        for py in 0..<p {
                            let src = plane + (i * p + py) * width + j * p
                            (row + c * p * p + py * p).update(from: src, count: p)
                        }
                    }
                }
            }
        }
    }

    /// The inverse layout for model outputs: rows of (p, p, C) patches, column
    /// (py·p + px)·C + c, back to images (N, C, gh·p, gw·p).
    public static func unpatchify(_ x: UnsafePointer<Float>, batch: Int, channels: Int, gridHeight gh: Int,
                                  gridWidth gw: Int, patch p: Int, into out: UnsafeMutablePointer<Float>) {
        let height = gh * p, width = gw * p, cols = p * p * channels
        for n in 0..<batch {
            for i in 0..<gh {
                for j in 0..<gw {
                    let row = x + ((n * gh + i) * gw + j) * cols
                    for py in 0..<p {
                        for px in 0..<p {
                            for c in 0..<channels {
                                out[((n * channels + c) * height + i * p + py) * width + j * p + px] = row[(py * p + px) * channels + c]
                            }
                        }
                    }
                }
            }
        }
    }
}

// MARK: - Naive twins

extension Reference {
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

    /// unpatchify as a gather: each pixel (n, c, h, w) reads its token
    /// (n, h/p, w/p) at column ((h mod p)·p + w mod p)·C + c.
    public static func unpatchify(_ x: [Float], batch: Int, channels: Int, gridHeight gh: Int, gridWidth gw: Int,
                                  patch p: Int) -> [Float] {
        let height = gh * p, width = gw * p
        var out = [Float](repeating: 0, count: batch * channels * height * width)
        for n in 0..<batch {
            for c in 0..<channels {
                for h in 0..<height {
                    for w in 0..<width {
                        let token = (n * gh + h / p) * gw + w / p
                        out[((n * channels + c) * height + h) * width + w] = x[token * p * p * channels + ((h % p) * p + w % p) * channels + c]
                    }
                }
            }
        }
        return out
    }
}
