import XCTest
@testable import Tensors

/// TileGemm's tiles (6×16, and 6×32 pairs on AVX-512 builds) against a
/// naive product, and bitwise against each other: every output is one FMA
/// chain over k in order, whatever tile computes it.
final class TileGemmTests: XCTestCase {
    func testPanelsMatchNaiveFMAChains() {
        var rng = SplitMix(seed: 5)
        for (m, panels, k) in [(6, 1, 1), (12, 2, 7), (18, 3, 33), (24, 5, 72), (6, 4, 129)] {
            let lda = k + 3, ldb = 16, stride = k * ldb + 5, ldc = panels * 16 + 8
            let a = (0..<(m * lda)).map { _ in rng.uniform() * 2 - 1 }
            let b = (0..<(panels * stride)).map { _ in rng.uniform() * 2 - 1 }
            var c = [Float](repeating: .nan, count: m * ldc)
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        TileGemm.panels(m: m, panels: panels, k: k, a: pa.baseAddress!, lda: lda, b: pb.baseAddress!,
                                        panelStride: stride, ldb: ldb, c: pc.baseAddress!, ldc: ldc)
                    }
                }
            }
            // B's panels side by side: column j of panel j / 16.
            let n = panels * 16
            let dense = (0..<(k * n)).map { i in b[(i % n / 16) * stride + i / n * ldb + i % 16] }
            let want = Reference.tileGemm(m: m, n: n, k: k, a: a, lda: lda, b: dense, ldb: n)
            for i in 0..<m {
                for j in 0..<n {
                    XCTAssertEqual(c[i * ldc + j].bitPattern, want[i * n + j].bitPattern, "\(m)×\(panels)×\(k) at \(i),\(j)")
                }
            }
        }
    }

    /// Products of odd sizes, padded to whole tiles (6 rows, 16 columns) as
    /// attention pads them, with odd leading dimensions: the m×n corner has
    /// the twin's bits, whatever the padding holds.
    func testGemmOnAwkwardShapesMatchesTheTwin() {
        var rng = SplitMix(seed: 9)
        for (m, n, k) in [(1, 1, 1), (5, 17, 3), (7, 33, 13), (13, 15, 64), (37, 50, 129)] {
            let mp = (m + 5) / 6 * 6, np = (n + 15) / 16 * 16
            let lda = k + 3, ldb = np + 5, ldc = np + 7
            let a = (0..<(mp * lda)).map { _ in rng.uniform() * 2 - 1 }
            let b = (0..<(k * ldb)).map { _ in rng.uniform() * 2 - 1 }
            var c = [Float](repeating: .nan, count: mp * ldc)
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        TileGemm.gemm(m: mp, n: np, k: k, a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb,
                                      c: pc.baseAddress!, ldc: ldc)
                    }
                }
            }
            let want = Reference.tileGemm(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb)
            for i in 0..<m {
                for j in 0..<n {
                    XCTAssertEqual(c[i * ldc + j].bitPattern, want[i * n + j].bitPattern, "\(m)×\(n)×\(k) at \(i),\(j)")
                }
            }
        }
    }
}
