import XCTest
@testable import Tensors

/// Conv2d, GroupNorm and nearest upsampling against their naive twins in
/// Reference, on odd sizes, strides, paddings and scratch too small for one band.
final class ConvKernelTests: XCTestCase {
    var rng = SplitMix(seed: 7)

    func random(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in rng.uniform() * 2 * scale - scale } }

    func assertClose(_ a: [Float], _ b: [Float], tol: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = max(1, b.map(abs).max() ?? 0)
        let err = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(err, tol * scale, "\(what): max abs error \(err), ref max \(scale)", file: file, line: line)
    }

    func testConv2dMatchesNaive() {
        typealias G = Conv2d.Geometry
        let cases: [(batch: Int, geometry: G)] = [
            (1, G(channels: 1, height: 1, width: 1, outChannels: 1, kernel: 1)),
            (2, G(channels: 3, height: 7, width: 5, outChannels: 5, kernel: 3, padding: 1)),
            (1, G(channels: 4, height: 9, width: 11, outChannels: 7, kernel: 1)),
            (2, G(channels: 5, height: 13, width: 6, outChannels: 3, kernel: 3, stride: 2, padding: 1)),
            (1, G(channels: 2, height: 8, width: 10, outChannels: 6, kernel: (2, 5), stride: (3, 2), padding: (0, 2))),
            (1, G(channels: 3, height: 5, width: 5, outChannels: 2, kernel: 4, stride: 1, padding: 3)),
            (3, G(channels: 17, height: 6, width: 19, outChannels: 33, kernel: 3, padding: 1)),
            (1, G(channels: 2, height: 4, width: 4, outChannels: 2, kernel: 1, stride: 2)),
        ]
        for (n, g) in cases {
            let x = random(n * g.channels * g.height * g.width)
            let w = random(g.outChannels * g.patchSize), b = random(g.outChannels)
            // The smallest scratch (one output row per band), and the whole image in one band.
            for scratchSize in Set([g.minimumScratch, g.scratch(budget: 1 << 30)]) {
                let scratch = Tensor(shape: [max(1, scratchSize)])
                for bias in [true, false] {
                    let y = Tensor(shape: [n, g.outChannels, g.outHeight, g.outWidth])
                    y.fill(.nan)
                    b.withUnsafeBufferPointer { bp in
                        Conv2d.forward(x, batch: n, geometry: g, weight: w, bias: bias ? bp.baseAddress : nil,
                                       scratch: scratch.buffer, into: y.data)
                    }
                    assertClose(y.array, Reference.conv2d(x, batch: n, geometry: g, weight: w, bias: bias ? b : nil),
                                tol: 2e-5, "\(g) scratch \(scratchSize) bias \(bias)")
                }
            }
        }
    }

    func testConv2dOutputSizeFollowsPyTorch() {
        let g = Conv2d.Geometry(channels: 1, height: 10, width: 7, outChannels: 1, kernel: (3, 2), stride: (3, 2), padding: (1, 0))
        XCTAssertEqual(g.outHeight, 4) // (10 + 2 − 3) / 3 + 1
        XCTAssertEqual(g.outWidth, 3)  // (7 − 2) / 2 + 1
    }

    func testGroupNormMatchesNaive() {
        for (n, c, spatial, groups) in [(1, 1, 1, 1), (2, 6, 7, 3), (1, 64, 17, 32), (3, 10, 33, 5), (1, 4, 5000, 2), (2, 33, 9, 11)] {
            // An offset mean, as in real activations, checks the variance for cancellation.
            let x = random(n * c * spatial, scale: 3).map { $0 + 2.5 }
            let w = random(c, scale: 2), b = random(c)
            for silu in [false, true] {
                let y = Tensor(shape: [n, c, spatial])
                GroupNorm.forward(x, batch: n, channels: c, spatial: spatial, groups: groups, eps: 1e-6,
                                  weight: w, bias: b, silu: silu, into: y.data)
                let ref = Reference.groupNorm(x, batch: n, channels: c, spatial: spatial, groups: groups, eps: 1e-6,
                                              weight: w, bias: b, silu: silu)
                assertClose(y.array, ref, tol: 1e-5, "(\(n), \(c), \(spatial)) groups \(groups) silu \(silu)")
                // In place gives the same values.
                let t = Tensor(shape: [n, c, spatial], values: x)
                GroupNorm.forward(t.pointer, batch: n, channels: c, spatial: spatial, groups: groups, eps: 1e-6,
                                  weight: w, bias: b, silu: silu, into: t.data)
                XCTAssertEqual(t.array, y.array)
            }
        }
    }

    func testGroupNormOfAConstantGroupIsTheBias() {
        let x = [Float](repeating: 3, count: 2 * 8), w: [Float] = [2, 2], b: [Float] = [0.5, -1]
        let y = Tensor(shape: [1, 2, 8])
        GroupNorm.forward(x, batch: 1, channels: 2, spatial: 8, groups: 1, eps: 1e-6, weight: w, bias: b, into: y.data)
        XCTAssertEqual(y.array, [Float](repeating: 0.5, count: 8) + [Float](repeating: -1, count: 8))
    }

    func testUpsampleNearest2xMatchesNaive() {
        for (planes, h, w) in [(1, 1, 1), (3, 2, 5), (2, 7, 3), (4, 16, 17)] {
            let x = random(planes * h * w)
            let y = Tensor(shape: [planes, 2 * h, 2 * w])
            Upsample.nearest2x(x, planes: planes, height: h, width: w, into: y.data)
            XCTAssertEqual(y.array, Reference.upsampleNearest2x(x, planes: planes, height: h, width: w))
        }
    }
}
