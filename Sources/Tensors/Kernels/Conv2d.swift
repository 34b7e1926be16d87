/// 2-D convolution over NCHW tensors (PyTorch `nn.Conv2d`, groups 1,
/// dilation 1) as im2col + sgemm. The column matrix is built a band of output
/// rows at a time into caller-owned scratch, so a 3×3 convolution at 256×256
/// does not need a 9×-the-input buffer.
public enum Conv2d {
    /// The sizes of one convolution; the output size follows PyTorch:
    /// (in + 2·pad − kernel) / stride + 1.
    public struct Geometry: Equatable, Sendable {
        public let channels, height, width: Int
        public let outChannels: Int
        public let kernelHeight, kernelWidth: Int
        public let strideHeight, strideWidth: Int
        public let padHeight, padWidth: Int

        public init(channels: Int, height: Int, width: Int, outChannels: Int,
                    kernel: (height: Int, width: Int), stride: (height: Int, width: Int) = (1, 1),
                    padding: (height: Int, width: Int) = (0, 0)) {
            precondition(kernel.height > 0 && kernel.width > 0 && stride.height > 0 && stride.width > 0
                         && padding.height >= 0 && padding.width >= 0, "bad convolution parameters")
            (self.channels, self.height, self.width, self.outChannels) = (channels, height, width, outChannels)
            (kernelHeight, kernelWidth) = kernel
            (strideHeight, strideWidth) = stride
            (padHeight, padWidth) = padding
            precondition(height + 2 * padHeight >= kernelHeight && width + 2 * padWidth >= kernelWidth,
                         "kernel \(kernelHeight)×\(kernelWidth) larger than the padded \(height)×\(width) input")
        }

        /// A square kernel with equal stride and padding on both axes.
        public init(channels: Int, height: Int, width: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0) {
            self.init(channels: channels, height: height, width: width, outChannels: outChannels,
                      kernel: (kernel, kernel), stride: (stride, stride), padding: (padding, padding))
        }

        public var outHeight: Int { (height + 2 * padHeight - kernelHeight) / strideHeight + 1 }
        public var outWidth: Int { (width + 2 * padWidth - kernelWidth) / strideWidth + 1 }
        /// Rows of the column matrix: one per (input channel, kernel row, kernel column).
        public var patchSize: Int { channels * kernelHeight * kernelWidth }
        /// 1×1, stride 1, no padding: the input already is the column matrix.
        public var isPointwise: Bool {
            kernelHeight == 1 && kernelWidth == 1 && strideHeight == 1 && strideWidth == 1 && padHeight == 0 && padWidth == 0
        }

        /// Scratch floats that `forward` needs at the least (one output row's
        /// columns; none for pointwise convolutions).
        public var minimumScratch: Int { isPointwise ? 0 : patchSize * outWidth }

        /// Scratch floats for bands of output rows holding about `budget`
        /// floats (never less than one row, never more than the whole image).
        public func scratch(budget: Int = 1 << 22) -> Int {
            isPointwise ? 0 : patchSize * outWidth * min(outHeight, max(1, budget / max(1, patchSize * outWidth)))
        }
    }

    /// y (N, outChannels, outHeight, outWidth) = conv(x (N, channels, height,
    /// width), weight (outChannels, channels, kh, kw)) + bias. `scratch` must
    /// hold at least `geometry.minimumScratch` floats; more makes the gemms larger.
    public static func forward(
        _ x: UnsafePointer<Float>, batch: Int, geometry g: Geometry,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        scratch: UnsafeMutableBufferPointer<Float>, into y: UnsafeMutablePointer<Float>
    ) {
        precondition(scratch.count >= g.minimumScratch,
                     "conv scratch holds \(scratch.count) floats; this convolution needs \(g.minimumScratch)")
        let ho = g.outHeight, wo = g.outWidth, plane = ho * wo, k = g.patchSize
        let bandRows = g.isPointwise ? ho : min(ho, scratch.count / (k * wo))
        for n in 0..<batch {
            let xn = x + n * g.channels * g.height * g.width, yn = y + n * g.outChannels * plane
            for r0 in stride(from: 0, to: ho, by: bandRows) {
                let rows = min(bandRows, ho - r0), cols = rows * wo
                let b: UnsafePointer<Float>
                if g.isPointwise {
                    b = xn + r0 * wo
                } else {
                    im2col(xn, geometry: g, rows: r0..<(r0 + rows), into: scratch.baseAddress!)
                    b = UnsafePointer(scratch.baseAddress!)
                }
                let c = yn + r0 * wo
                if let bias {
                    for o in 0..<g.outChannels { (c + o * plane).update(repeating: bias[o], count: cols) }
                }
                Gemm.sgemm(m: g.outChannels, n: cols, k: k, a: weight, lda: k,
                           b: b, ldb: g.isPointwise ? plane : cols,
                           c: c, ldc: plane, beta: bias == nil ? 0 : 1)
            }
        }
    }

    /// The column matrix for output rows `rows` of one image: out[(c·kh + i)·kw + j][(r − r0)·wo + ow]
    /// = x[c][r·sh − ph + i][ow·sw − pw + j], zero outside the input.
    public static func im2col(_ x: UnsafePointer<Float>, geometry g: Geometry, rows: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        let wo = g.outWidth, cols = rows.count * wo
        var row = out
        for c in 0..<g.channels {
            let xc = x + c * g.height * g.width
            for i in 0..<g.kernelHeight {
                for j in 0..<g.kernelWidth {
                    // Output columns whose input column ow·sw − pw + j lies inside [0, width).
                    let first = max(0, (g.padWidth - j + g.strideWidth - 1) / g.strideWidth)
                    let last = min(wo, (g.width - 1 + g.padWidth - j) / g.strideWidth + 1)
                    for (dr, r) in rows.enumerated() {
                        let dst = row + dr * wo
                        let ih = r * g.strideHeight - g.padHeight + i
                        guard ih >= 0, ih < g.height, first < last else {
                            dst.update(repeating: 0, count: wo)
                            continue
                        }
                        if first > 0 { dst.update(repeating: 0, count: first) }
                        if last < wo { (dst + last).update(repeating: 0, count: wo - last) }
                        let src = xc + ih * g.width + first * g.strideWidth - g.padWidth + j
                        if g.strideWidth == 1 {
                            (dst + first).update(from: src, count: last - first)
                        } else {
                            for t in 0..<(last - first) { dst[first + t] = src[t * g.strideWidth] }
                        }
                    }
                    row += cols
                }
            }
        }
    }
}

// MARK: - Naive twins

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
}
