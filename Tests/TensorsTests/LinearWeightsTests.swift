import XCTest
@testable import Tensors

/// The packed AVX2 GEMM (`LinearWeights`) against the naive twin, and the
/// invariances pipelined runs rely on.
final class LinearWeightsTests: XCTestCase {
    var rng = SplitMix(seed: 9)
    func random(_ n: Int) -> [Float] { (0..<n).map { _ in rng.uniform() * 2 - 1 } }

    func product(_ w: LinearWeights, _ x: [Float], rows: Int, bias: [Float]?, threads: Int) -> [Float] {
        let y = Tensor(shape: [rows, w.outFeatures])
        y.fill(.nan)
        x.withUnsafeBufferPointer { xp in
            if let bias {
                bias.withUnsafeBufferPointer { w.apply(xp.baseAddress!, rows: rows, bias: $0.baseAddress, into: y.data, threads: threads) }
            } else {
                w.apply(xp.baseAddress!, rows: rows, bias: nil, into: y.data, threads: threads)
            }
        }
        return y.array
    }

    func testPackedMatchesNaiveOnAwkwardShapes() throws {
        try XCTSkipUnless(LinearWeights.packedAvailable, "no AVX2/FMA: LinearWeights stays on OpenBLAS")
        let limit = LinearWeights.packedRowLimit
        LinearWeights.packedRowLimit = 1024   // also cover the > 516-row A blocks
        defer { LinearWeights.packedRowLimit = limit }
        // k over 256 crosses K blocks; n not a multiple of 16 pads panels; rows not of 6 pad tiles;
        // rows over 516 crosses A blocks.
        for (rows, inF, outF) in [(1, 1, 1), (5, 3, 17), (7, 300, 33), (13, 64, 100), (600, 40, 24), (37, 513, 48)] {
            let w = random(outF * inF), x = random(rows * inF), b = random(outF)
            let weights = w.withUnsafeBufferPointer { LinearWeights(weight: $0.baseAddress!, outFeatures: outF, inFeatures: inF) }
            for bias in [b, nil] as [[Float]?] {
                for threads in [1, 2, 3] {
                    let got = product(weights, x, rows: rows, bias: bias, threads: threads)
                    XCTAssertTrue(weights.isPacked)
                    let want = Reference.linear(x, rows: rows, inFeatures: inF, weight: w, bias: bias, outFeatures: outF)
                    let scale = max(1, want.map(abs).max()!)
                    let err = zip(got, want).map { abs($0 - $1) }.max()!
                    XCTAssertLessThanOrEqual(err, 2e-6 * Float(inF).squareRoot() * scale, "\(rows)×\(inF)→\(outF) threads \(threads)")
                }
            }
        }
    }

    /// A row's result depends only on the row: not on the row count, its
    /// position in the tile, the other rows or the column split.
    func testPackedRowsAreIndependentOfPositionAndSplit() throws {
        try XCTSkipUnless(LinearWeights.packedAvailable, "no AVX2/FMA")
        let inF = 300, outF = 70, rows = 20
        let w = random(outF * inF), x = random(rows * inF), b = random(outF)
        let weights = w.withUnsafeBufferPointer { LinearWeights(weight: $0.baseAddress!, outFeatures: outF, inFeatures: inF) }
        let all = product(weights, x, rows: rows, bias: b, threads: 1)
        XCTAssertEqual(product(weights, x, rows: rows, bias: b, threads: 3).map(\.bitPattern), all.map(\.bitPattern))
        for r in [0, 5, 13, 19] {
            let alone = product(weights, Array(x[(r * inF)..<((r + 1) * inF)]), rows: 1, bias: b, threads: 2)
            XCTAssertEqual(alone.map(\.bitPattern), all[(r * outF)..<((r + 1) * outF)].map(\.bitPattern), "row \(r)")
        }
    }

    /// Past the row limit the first product keeps the OpenBLAS layout.
    func testLargeFirstProductStaysOnOpenBLAS() {
        let inF = 8, outF = 8, rows = LinearWeights.packedRowLimit + 1
        let w = random(outF * inF), x = random(rows * inF)
        let weights = w.withUnsafeBufferPointer { LinearWeights(weight: $0.baseAddress!, outFeatures: outF, inFeatures: inF) }
        let got = product(weights, x, rows: rows, bias: nil, threads: 1)
        XCTAssertFalse(weights.isPacked)
        let want = Reference.linear(x, rows: rows, inFeatures: inF, weight: w, bias: nil, outFeatures: outF)
        XCTAssertLessThanOrEqual(zip(got, want).map { abs($0 - $1) }.max()!, 1e-5)
    }
}
