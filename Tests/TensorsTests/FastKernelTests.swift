import Foundation
import XCTest
@testable import Tensors

/// The vectorised exp, activations on loop tails, and threaded kernels
/// against their naive twins.
final class FastKernelTests: XCTestCase {
    var rng = SplitMix(seed: 7)

    func random(_ n: Int, scale: Float) -> [Float] { (0..<n).map { _ in (rng.uniform() * 2 - 1) * scale } }

    /// Within 2 ulp of the correctly rounded e^x over the range softmax,
    /// SiLU and GELU use (results above the smallest normal float).
    func testExpIsWithinTwoUlp() {
        var worst: Float = 0
        for x in random(100_000, scale: 87) + [0, -0, 1, -1, 88, -87, 1e-8, 0.5, -0.5] {
            let got = FastMath.exp(x), want = Float(Foundation.exp(Double(x)))
            worst = max(worst, abs(got - want) / want.ulp)
        }
        XCTAssertLessThanOrEqual(worst, 2, "worst error \(worst) ulp")
        XCTAssertEqual(FastMath.exp(-1000), FastMath.exp(-87))
        XCTAssertTrue(FastMath.exp(.nan).isNaN)
    }

    /// Every count from 1 to 40 covers full vectors and every tail length.
    func testActivationTailsMatchNaive() {
        for n in 1...40 {
            let x = random(n, scale: 8)
            let y = Tensor(shape: [n])
            Activation.silu(x, count: n, into: y.data)
            for (a, b) in zip(y.array, Reference.silu(x)) { XCTAssertEqual(a, b, accuracy: 1e-6 * max(1, abs(b))) }
            let g = Tensor(shape: [n], values: x)
            Activation.geluTanh(g.data, count: n)
            for (a, b) in zip(g.array, Reference.geluTanh(x)) { XCTAssertEqual(a, b, accuracy: 1e-6 * max(1, abs(b))) }
            let s = Tensor(shape: [1, n], values: x)
            Activation.softmaxRows(s.data, rows: 1, cols: n)
            for (a, b) in zip(s.array, Reference.softmaxRows(x, rows: 1, cols: n)) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        }
    }

    /// Heads split over threads give the naive result and the same bits as
    /// one thread.
    func testThreadedAttentionMatchesNaive() {
        for (batch, tokens, heads, headDim) in [(1, 1, 1, 1), (1, 5, 3, 7), (3, 16, 4, 16), (2, 37, 2, 24), (1, 40, 2, 72)] {
            let dim = heads * headDim
            let qkv = random(batch * tokens * 3 * dim, scale: 2)
            let ref = Reference.attention(qkv: qkv, batch: batch, tokens: tokens, heads: heads, headDim: headDim)
            var outs: [[Float]] = [], tiledOuts: [[Float]] = []
            for threads in [1, 2, 3] {
                let out = Tensor(shape: [batch * tokens, dim]), scores = Tensor(shape: [threads, tokens, tokens])
                Attention.forward(qkv: qkv, batch: batch, tokens: tokens, heads: heads, headDim: headDim,
                                  scores: scores.data, threads: threads, into: out.data)
                for (a, b) in zip(out.array, ref) { XCTAssertEqual(a, b, accuracy: 2e-5 * max(1, abs(b))) }
                outs.append(out.array)
                let tiled = Tensor(shape: [batch * tokens, dim])
                let scratch = Tensor(shape: [threads, Attention.scratchCount(tokens: tokens, headDim: headDim)])
                scratch.fill(.nan)
                Attention.forward(qkv: qkv, batch: batch, tokens: tokens, heads: heads, headDim: headDim,
                                  scratch: scratch.data, threads: threads, into: tiled.data)
                for (a, b) in zip(tiled.array, ref) { XCTAssertEqual(a, b, accuracy: 2e-5 * max(1, abs(b))) }
                tiledOuts.append(tiled.array)
            }
            XCTAssertEqual(tiledOuts[0].map(\.bitPattern), tiledOuts[1].map(\.bitPattern))
            XCTAssertEqual(tiledOuts[0].map(\.bitPattern), tiledOuts[2].map(\.bitPattern))
            XCTAssertEqual(outs[0].map(\.bitPattern), outs[1].map(\.bitPattern))
            XCTAssertEqual(outs[0].map(\.bitPattern), outs[2].map(\.bitPattern))
        }
    }

    /// The few-rows linear (adaLN, embedders) against the naive twin on
    /// awkward shapes, with the same bits on 1, 2 and 3 threads and for a row
    /// computed alone or among others.
    func testFewRowsLinearMatchesNaiveOnAnyThreads() {
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        for (rows, inF, outF) in [(1, 1, 1), (2, 7, 33), (5, 130, 47), (16, 384, 2304), (3, 403, 1009)] {
            let x = random(rows * inF, scale: 1), w = random(outF * inF, scale: 0.2), b = random(outF, scale: 1)
            let weight = Tensor(shape: [outF, inF], values: w), wT = Tensor(shape: [inF, outF])
            Gemm.transpose(weight.pointer, rows: outF, cols: inF, into: wT.data)
            let ref = Reference.linear(x, rows: rows, inFeatures: inF, weight: w, bias: b, outFeatures: outF)
            var outs: [[UInt32]] = []
            for threads in [1, 2, 3] {
                Parallel.threads = threads
                let y = Tensor(shape: [rows, outF])
                y.fill(.nan)
                FewRows.linear(x, rows: rows, inFeatures: inF, weightT: wT.pointer, bias: b, outFeatures: outF, into: y.data)
                for (a, r) in zip(y.array, ref) { XCTAssertEqual(a, r, accuracy: 2e-5 * max(1, abs(r))) }
                outs.append(y.array.map(\.bitPattern))
            }
            XCTAssertEqual(outs[0], outs[1], "\(rows)×\(inF)→\(outF): 2 threads changed bits")
            XCTAssertEqual(outs[0], outs[2], "\(rows)×\(inF)→\(outF): 3 threads changed bits")
            let last = Tensor(shape: [1, outF])
            FewRows.linear(Array(x[((rows - 1) * inF)...]), rows: 1, inFeatures: inF, weightT: wT.pointer, bias: b,
                           outFeatures: outF, into: last.data)
            XCTAssertEqual(last.array.map(\.bitPattern), Array(outs[0][((rows - 1) * outF)...]))
        }
    }

    /// Row-split norms and residuals give the same bits on 1 and 2 threads.
    func testRowSplitKernelsDoNotDependOnThreads() {
        let (rows, cols, group) = (64, 40, 16)
        let x = random(rows * cols, scale: 3), mod = random(rows / group * 3 * cols, scale: 1)
        var results: [[Float]] = []
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        for threads in [1, 2] {
            Parallel.threads = threads
            let y = Tensor(shape: [rows, cols])
            Norm.layerNormModulate(x, rows: rows, cols: cols, eps: 1e-6, groupRows: group, shift: mod,
                                   scale: Array(mod.dropFirst(cols)), groupStride: 3 * cols, into: y.data)
            Elementwise.addGated(y.data, x, rows: rows, cols: cols, gate: mod, groupRows: group, groupStride: 3 * cols)
            results.append(y.array)
        }
        XCTAssertEqual(results[0].map(\.bitPattern), results[1].map(\.bitPattern))
    }
}
