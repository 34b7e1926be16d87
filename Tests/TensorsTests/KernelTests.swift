import XCTest
@testable import Tensors

/// Every fast kernel against its naive twin in Reference, on awkward shapes.
final class KernelTests: XCTestCase {
    var rng = SplitMix(seed: 1)

    func random(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in rng.uniform() * 2 * scale - scale } }

    func assertClose(_ a: [Float], _ b: [Float], tol: Float = 2e-5, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        let scale = max(1, b.map(abs).max() ?? 0)
        let err = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(err, tol * scale, "max abs error \(err), ref max \(scale)", file: file, line: line)
    }

    func testLinearMatchesNaive() {
        for (rows, inF, outF) in [(1, 1, 1), (3, 17, 5), (33, 64, 96), (7, 130, 31), (64, 48, 120)] {
            let x = random(rows * inF), w = random(outF * inF), b = random(outF)
            let weight = Tensor(shape: [outF, inF], values: w)
            let wT = Tensor(shape: [inF, outF])
            Gemm.transpose(weight.pointer, rows: outF, cols: inF, into: wT.data)
            for bias in [true, false] {
                let y = Tensor(shape: [rows, outF])
                y.fill(.nan)
                b.withUnsafeBufferPointer { bp in
                    Gemm.linear(x, rows: rows, inFeatures: inF, weightT: wT.pointer, bias: bias ? bp.baseAddress : nil,
                                outFeatures: outF, into: y.data)
                }
                assertClose(y.array, Reference.linear(x, rows: rows, inFeatures: inF, weight: w, bias: bias ? b : nil, outFeatures: outF))
            }
        }
    }

    func testLayerNormAndModulateMatchNaive() {
        for (rows, cols, group) in [(1, 1, 1), (5, 17, 5), (12, 64, 4), (9, 33, 3), (4, 200, 2)] {
            let x = random(rows * cols, scale: 3).map { $0 + 0.5 }
            let y = Tensor(shape: [rows, cols])
            Norm.layerNorm(x, rows: rows, cols: cols, eps: 1e-6, into: y.data)
            let ref = Reference.layerNorm(x, rows: rows, cols: cols, eps: 1e-6)
            assertClose(y.array, ref, tol: 1e-5)

            let groups = rows / group, stride = 3 * cols
            let mod = random(groups * stride)
            Norm.layerNormModulate(x, rows: rows, cols: cols, eps: 1e-6, groupRows: group,
                                   shift: mod, scale: Array(mod.dropFirst(cols)), groupStride: stride, into: y.data)
            assertClose(y.array, Reference.layerNormModulate(x, rows: rows, cols: cols, eps: 1e-6, groupRows: group, shift: mod,
                                                             scale: Array(mod.dropFirst(cols)), groupStride: stride), tol: 1e-5)
        }
    }

    func testActivationsMatchNaive() {
        let x = random(1001, scale: 6)
        let y = Tensor(shape: [1001])
        Activation.silu(x, count: x.count, into: y.data)
        assertClose(y.array, Reference.silu(x), tol: 1e-6)
        let g = Tensor(shape: [1001], values: x)
        Activation.geluTanh(g.data, count: g.count)
        assertClose(g.array, Reference.geluTanh(x), tol: 1e-6)
        for (rows, cols) in [(1, 1), (3, 7), (17, 33), (4, 256)] {
            let s = Tensor(shape: [rows, cols], values: random(rows * cols, scale: 20))
            let ref = Reference.softmaxRows(s.array, rows: rows, cols: cols)
            Activation.softmaxRows(s.data, rows: rows, cols: cols)
            assertClose(s.array, ref, tol: 1e-6)
        }
    }

    func testAttentionMatchesNaive() {
        for (batch, tokens, heads, headDim) in [(1, 1, 1, 1), (2, 5, 3, 7), (3, 16, 4, 16), (1, 37, 2, 24)] {
            let dim = heads * headDim
            let qkv = random(batch * tokens * 3 * dim, scale: 2)
            let out = Tensor(shape: [batch * tokens, dim])
            let scores = Tensor(shape: [tokens, tokens])
            Attention.forward(qkv: qkv, batch: batch, tokens: tokens, heads: heads, headDim: headDim,
                              scores: scores.data, into: out.data)
            assertClose(out.array, Reference.attention(qkv: qkv, batch: batch, tokens: tokens, heads: heads, headDim: headDim))
        }
    }

    func testPatchifyLinearIsTheConvolution() {
        for (n, c, size, p, d) in [(1, 1, 2, 2, 3), (2, 3, 12, 2, 5), (2, 4, 16, 4, 7), (1, 2, 24, 8, 9)] {
            let x = random(n * c * size * size), w = random(d * c * p * p), b = random(d)
            let rows = n * (size / p) * (size / p)
            let patches = Tensor(shape: [rows, c * p * p])
            Patch.patchify(x, batch: n, channels: c, height: size, width: size, patch: p, into: patches.data)
            let y = Reference.linear(patches.array, rows: rows, inFeatures: c * p * p, weight: w, bias: b, outFeatures: d)
            assertClose(y, Reference.patchConv(x, batch: n, channels: c, height: size, width: size, patch: p,
                                               weight: w, bias: b, outChannels: d))
        }
    }

    func testUnpatchifyLayout() {
        // One image, 2 channels, 2×2 grid of 2×2 patches: value encodes (token, py, px, c).
        let (p, ch, g) = (2, 2, 2)
        var x = [Float](repeating: 0, count: g * g * p * p * ch)
        for t in 0..<(g * g) { for py in 0..<p { for px in 0..<p { for c in 0..<ch {
            x[t * p * p * ch + (py * p + px) * ch + c] = Float(1000 * t + 100 * py + 10 * px + c)
        } } } }
        let out = Tensor(shape: [1, ch, g * p, g * p])
        Patch.unpatchify(x, batch: 1, channels: ch, gridHeight: g, gridWidth: g, patch: p, into: out.data)
        // Pixel (row 3, col 0) of channel 1 is token (1, 0) = 2, py 1, px 0.
        XCTAssertEqual(out[(1 * 4 + 3) * 4 + 0], 2101)
        XCTAssertEqual(out[(0 * 4 + 1) * 4 + 3], 1110)
    }

    func testUnpatchifyMatchesNaive() {
        for (n, ch, gh, gw, p) in [(1, 1, 1, 1, 1), (2, 3, 3, 5, 2), (1, 5, 2, 3, 3), (3, 4, 4, 4, 4)] {
            let x = random(n * gh * gw * p * p * ch)
            let out = Tensor(shape: [n, ch, gh * p, gw * p])
            out.fill(.nan)
            Patch.unpatchify(x, batch: n, channels: ch, gridHeight: gh, gridWidth: gw, patch: p, into: out.data)
            XCTAssertEqual(out.array, Reference.unpatchify(x, batch: n, channels: ch, gridHeight: gh, gridWidth: gw, patch: p))
        }
    }

    func testElementwiseGatedAddMatchesNaive() {
        for (rows, cols, group, stride) in [(1, 1, 1, 1), (6, 19, 3, 40), (9, 33, 9, 99), (32, 16, 16, 96), (5, 70, 1, 71)] {
            let x = random(rows * cols), y = random(rows * cols), gate = random(rows / group * stride)
            let t = Tensor(shape: [rows, cols], values: x)
            Elementwise.addGated(t.data, y, rows: rows, cols: cols, gate: gate, groupRows: group, groupStride: stride)
            assertClose(t.array, Reference.addGated(x, y, rows: rows, cols: cols, gate: gate, groupRows: group,
                                                    groupStride: stride), tol: 1e-7)
        }
    }

    /// Sizes that are not multiples of the 32×32 tiles, and a single row or column.
    func testTransposeMatchesNaive() {
        for (rows, cols) in [(1, 1), (1, 37), (37, 1), (31, 33), (65, 7), (100, 129)] {
            let a = random(rows * cols)
            let out = Tensor(shape: [cols, rows])
            out.fill(.nan)
            a.withUnsafeBufferPointer { Gemm.transpose($0.baseAddress!, rows: rows, cols: cols, into: out.data) }
            XCTAssertEqual(out.array, Reference.transpose(a, rows: rows, cols: cols), "\(rows)×\(cols)")
        }
    }
}

/// A tiny deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }
}
