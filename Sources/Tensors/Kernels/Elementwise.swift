/// Fused elementwise updates on row-major matrices.
public enum Elementwise {
    /// x[r] += gate[g] ⊙ y[r] for rows in groups of `groupRows`, group g's
    /// gate at `gate + g·groupStride`: a gated residual connection.
    public static func addGated(
        _ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, rows: Int, cols: Int,
        gate: UnsafePointer<Float>, groupRows: Int, groupStride: Int
    ) {
        Parallel.ranges(rows, grain: 16) { range in
            for r in range { gatedRow(x, y, r: r, cols: cols, gate: gate, groupRows: groupRows, groupStride: groupStride) }
        }
    }

    @inline(__always)
    static func gatedRow(
        _ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, r: Int, cols: Int,
        gate: UnsafePointer<Float>, groupRows: Int, groupStride: Int
    ) {
        let gr = gate + (r / groupRows) * groupStride
        let xr = x + r * cols, yr = y + r * cols
        var j = 0
        while j + 16 <= cols {
            let a = UnsafeRawPointer(xr + j).loadUnaligned(as: SIMD16<Float>.self)
            let b = UnsafeRawPointer(yr + j).loadUnaligned(as: SIMD16<Float>.self)
            let g = UnsafeRawPointer(gr + j).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(xr + j).storeBytes(of: a + g * b, as: SIMD16<Float>.self)
            j += 16
        }
        while j < cols { xr[j] += gr[j] * yr[j]; j += 1 }
    }

    /// x += y over `count` elements.
    public static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += y[i] }
    }
}

// MARK: - Naive twins

extension Reference {
    /// x + gate[g] ⊙ y, row r in group g = r / groupRows.
    public static func addGated(_ x: [Float], _ y: [Float], rows: Int, cols: Int, gate: [Float], groupRows: Int,
                                groupStride: Int) -> [Float] {
        var out = x
        for r in 0..<rows {
            for j in 0..<cols {
                let i = r * cols + j
                out[i] = Float(Double(x[i]) + Double(gate[(r / groupRows) * groupStride + j]) * Double(y[i]))
            }
        }
        return out
    }
}
