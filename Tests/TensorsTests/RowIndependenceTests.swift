import XCTest
@testable import Tensors

/// A row's GEMM result must not depend on the other rows' values: padded
/// micro-batches rely on it for bitwise-identical pipelined runs. (It may
/// depend on the row's position: OpenBLAS's kernels round rows at different
/// positions of a tile differently, so SamplingPlan keeps every image at the
/// same position of the same micro-batch whatever the split.)
final class RowIndependenceTests: XCTestCase {
    func testLinearRowsAreIndependentOfNeighbours() {
        var rng = SplitMix(seed: 3)
        for (rows, inF, outF) in [(2, 64, 192), (32, 64, 192), (64, 64, 256), (16, 256, 64), (4, 64, 384)] {
            let w = Tensor(shape: [inF, outF], values: (0..<(inF * outF)).map { _ in rng.uniform() - 0.5 })
            let a = Tensor(shape: [rows, inF], values: (0..<(rows * inF)).map { _ in rng.uniform() - 0.5 })
            let b = Tensor(shape: [rows, inF]); b.copy(from: a)
            for i in (rows / 2 * inF)..<(rows * inF) { b[i] = rng.uniform() * 3 }
            let ya = Tensor(shape: [rows, outF]), yb = Tensor(shape: [rows, outF])
            Gemm.linear(a.pointer, rows: rows, inFeatures: inF, weightT: w.pointer, bias: nil, outFeatures: outF, into: ya.data)
            Gemm.linear(b.pointer, rows: rows, inFeatures: inF, weightT: w.pointer, bias: nil, outFeatures: outF, into: yb.data)
            let same = (0..<(rows / 2 * outF)).allSatisfy { ya[$0].bitPattern == yb[$0].bitPattern }
            XCTAssertTrue(same, "rows \(rows) in \(inF) out \(outF): first half changed with the second half")
        }
    }
}
