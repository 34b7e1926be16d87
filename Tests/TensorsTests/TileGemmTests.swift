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
            for i in 0..<m {
                for j in 0..<(panels * 16) {
                    var s: Float = 0
                    for p in 0..<k { s = s.addingProduct(a[i * lda + p], b[(j / 16) * stride + p * ldb + j % 16]) }
                    XCTAssertEqual(c[i * ldc + j].bitPattern, s.bitPattern, "\(m)×\(panels)×\(k) at \(i),\(j)")
                }
            }
        }
    }
}
