import Foundation
import Tensors

/// Upstream's fixed 2-D sin-cos position embedding (from MAE): the first half
/// of the features encodes a token's column, the second half its row (upstream
/// builds its grid with `meshgrid(grid_w, grid_h)`), each half as
/// [sin | cos] of position · 10000^(−k/(D/4)). Computed in Double, then
/// rounded to Float, as numpy's float64 table is converted upstream.
public enum PosEmbed {
    public static func sincos2D(dim: Int, gridSize: Int) -> Tensor {
        let t = Tensor(shape: [1, gridSize * gridSize, dim])
        let half = dim / 2, quarter = half / 2
        let omega = (0..<quarter).map { 1 / pow(10000.0, Double($0) / Double(half / 2)) }
        for i in 0..<gridSize {
            for j in 0..<gridSize {
                let row = t.data + (i * gridSize + j) * dim
                for (offset, pos) in [(0, Double(j)), (half, Double(i))] {
                    for k in 0..<quarter {
                        row[offset + k] = Float(sin(pos * omega[k]))
                        row[offset + quarter + k] = Float(cos(pos * omega[k]))
                    }
                }
            }
        }
        return t
    }
}
