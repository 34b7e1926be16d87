import XCTest
@testable import Tensors

/// Both GEMM backends against a naive product, oneDNN's rows against M, and
/// bf16 linear layers against fp32.
final class GemmBackendTests: XCTestCase {
    var rng = SplitMix(seed: 11)

    override func tearDown() {
        Gemm.backend = .openblas
        Gemm.precision = .fp32
    }

    func random(_ n: Int) -> [Float] { (0..<n).map { _ in rng.uniform() * 2 - 1 } }

    /// Awkward shapes (odd, past 16, leading dimensions wider than the
    /// operand), every transpose, alpha and beta.
    func testBackendsMatchNaive() {
        for backend in GemmBackend.allCases {
            Gemm.backend = backend
            for (m, n, k) in [(1, 1, 1), (3, 5, 7), (17, 33, 9), (64, 48, 72), (129, 67, 31)] {
                for (transA, transB) in [(false, false), (false, true), (true, false), (true, true)] {
                    let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 1, ldc = n + 2
                    let a = random((transA ? k : m) * lda), b = random((transB ? n : k) * ldb), c0 = random(m * ldc)
                    let (alpha, beta): (Float, Float) = (0.5, transA ? 1 : 0)
                    var c = c0
                    a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            c.withUnsafeMutableBufferPointer { pc in
                                Gemm.sgemm(m: m, n: n, k: k, a: pa.baseAddress!, lda: lda, transA: transA,
                                           b: pb.baseAddress!, ldb: ldb, transB: transB, c: pc.baseAddress!, ldc: ldc,
                                           alpha: alpha, beta: beta)
                            }
                        }
                    }
                    let want = Reference.sgemm(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB,
                                     c: c0, ldc: ldc, alpha: alpha, beta: beta)
                    let err = zip(c, want).map { abs($0 - $1) }.max()!
                    XCTAssertLessThanOrEqual(err, 1e-5 * Float(k).squareRoot(), "\(backend) \(m)×\(n)×\(k) \(transA) \(transB)")
                }
            }
        }
    }

    /// Each row of oneDNN's x·Wᵀ product (`Gemm.linear`'s N,N call) is
    /// bitwise the same whatever the row count, from 2 rows up: what keeps
    /// sequence parallel and any micro-batch split bitwise.
    /// On AVX-512, where `auto` picks oneDNN. Its AVX2 kernels do round rows
    /// differently with M (M = 2, 3 and 31 here, on an AMD EPYC without
    /// AVX-512), which is why `auto` takes OpenBLAS there and CFG pairs are
    /// multiplied per half (`Linear.tokens(…, groups:)`).
    func testOneDNNRowsDoNotDependOnRowCount() throws {
        try XCTSkipUnless(OneDNN.hasAVX512, "oneDNN runs its AVX2 kernels here (\(OneDNN.isaName)), whose rows depend on M")
        Gemm.backend = .onednn
        let k = 72, n = 200, full = 600
        let x = Tensor(shape: [full, k], values: random(full * k)), w = Tensor(shape: [k, n], values: random(k * n))
        let reference = Tensor(shape: [full, n])
        Gemm.sgemm(m: full, n: n, k: k, a: x.pointer, lda: k, b: w.pointer, ldb: n, c: reference.data, ldc: n)
        for m in [2, 3, 17, 31, 64, 100, 256, 513] {
            let y = Tensor(shape: [m, n])
            Gemm.sgemm(m: m, n: n, k: k, a: x.pointer, lda: k, b: w.pointer, ldb: n, c: y.data, ldc: n)
            XCTAssertEqual(y.array, Array(reference.array[0..<(m * n)]), "M = \(m)")
        }
    }

    func testAutoPicksOneDNNWithAVX512() throws {
        XCTAssertEqual(try GemmBackend.resolve(.auto), OneDNN.hasAVX512 ? .onednn : .openblas)
        XCTAssertEqual(try GemmBackend.resolve(.openblas), .openblas)
    }

    /// bf16 weights and inputs with fp32 accumulation: each product is off by
    /// at most a few bf16 ulps (2⁻⁸ relative) of the terms' magnitude.
    func testBF16LinearIsCloseToFP32() throws {
        try XCTSkipUnless(OneDNN.hasBF16, "this CPU has no bf16 kernels")
        for (rows, k, n) in [(1, 64, 48), (5, 33, 17), (40, 384, 1152), (300, 72, 216)] {
            let w = Tensor(shape: [n, k], values: random(n * k)), bias = Tensor(shape: [n], values: random(n))
            let x = Tensor(shape: [rows, k], values: random(rows * k))
            let exact = LinearWeights(weight: w.pointer, outFeatures: n, inFeatures: k, bias: bias, precision: .fp32)
            let half = LinearWeights(weight: w.pointer, outFeatures: n, inFeatures: k, bias: bias, precision: .bf16)
            // Half the bytes, but for the blocked layout's padding of small shapes.
            if n * k >= 384 * 1152 { XCTAssertLessThanOrEqual(half.residentBytes, exact.residentBytes * 51 / 100) }
            let a = Tensor(shape: [rows, n]), b = Tensor(shape: [rows, n])
            exact(x.pointer, rows: rows, into: a.data)
            half(x.pointer, rows: rows, into: b.data)
            let err = zip(a.array, b.array).map { abs($0 - $1) }.max()!
            // |x|,|w| ≤ 1: the sum of |x·w| is at most k; bf16 rounding of both factors ≲ 2·2⁻⁹ each.
            XCTAssertLessThanOrEqual(err, Float(k) * 2 * 0.0039 / 2, "\(rows)×\(k)×\(n)")
            XCTAssertGreaterThan(err, 0, "bf16 should differ from fp32 in the last bits")
        }
    }
}
