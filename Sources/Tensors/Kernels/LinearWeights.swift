import CKernels
import Dispatch
import Foundation

/// The weight of y = x·Wᵀ + b, in the layout its GEMM runs fastest, decided
/// on the first product:
///
/// - up to `packedRowLimit` rows: packed once into 16-column panels for the
///   AVX2 kernel (`CKernels/gemm.c`). OpenBLAS packs the weight again on
///   every call, which at a few hundred rows costs ~8 % of the product; the
///   pre-packed kernel skips that.
/// - more rows: transposed (in × out) for OpenBLAS, which is faster at large
///   M on this machine and amortises its packing there.
///
/// Only one copy is kept: the transposed weight is freed once packed. A
/// product's values depend on the layout (the summation order differs), so
/// the layout is fixed after the first call: every later product, whatever
/// its row count, uses the same kernel.
public final class LinearWeights {
    public let inFeatures: Int
    public let outFeatures: Int
    private var transposed: UnsafeMutablePointer<Float>?
    private var packed: UnsafeMutablePointer<Float>?

    /// Rows up to which the first product packs the weight. 0 keeps every
    /// weight on OpenBLAS; DIT_PACKED_ROW_LIMIT sets it for benchmarks.
    nonisolated(unsafe) public static var packedRowLimit =
        getenv("DIT_PACKED_ROW_LIMIT").flatMap { Int(String(cString: $0)) } ?? 512
    public static let packedAvailable = dit_gemm_available() != 0

    /// From W (out × in, row-major, as PyTorch stores it).
    public init(weight: UnsafePointer<Float>, outFeatures: Int, inFeatures: Int) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let t = UnsafeMutablePointer<Float>.allocate(capacity: inFeatures * outFeatures)
        Gemm.transpose(weight, rows: outFeatures, cols: inFeatures, into: t)
        transposed = t
    }

    deinit {
        transposed?.deallocate()
        packed?.deallocate()
    }

    public var isPacked: Bool { packed != nil }

    /// y[rows × out] = x[rows × in] · Wᵀ + bias, on `threads` threads.
    public func apply(_ x: UnsafePointer<Float>, rows: Int, bias: UnsafePointer<Float>?,
                      into y: UnsafeMutablePointer<Float>, threads: Int = Parallel.threads) {
        guard rows > 0 else { return }
        if let t = transposed, packed == nil, Self.packedAvailable, rows <= Self.packedRowLimit {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: Int(dit_gemm_packed_floats(Int32(inFeatures), Int32(outFeatures))))
            dit_gemm_pack_b(Int32(inFeatures), Int32(outFeatures), t, outFeatures, 1, p)
            t.deallocate()
            transposed = nil
            packed = p
        }
        if let t = transposed {
            Gemm.linear(x, rows: rows, inFeatures: inFeatures, weightT: t, bias: bias, outFeatures: outFeatures, into: y)
            return
        }
        let p = packed!, k = inFeatures, n = outFeatures
        let panels = (n + 15) / 16, parts = max(1, min(threads, panels))
        let work = Self.workspace(threads: parts)
        let per = Int(dit_gemm_workspace_floats())
        if parts == 1 {
            dit_gemm_packed(Int32(rows), Int32(n), Int32(k), x, k, p, bias, y, n, work)
            return
        }
        DispatchQueue.concurrentPerform(iterations: parts) { i in
            let p0 = i * panels / parts, p1 = (i + 1) * panels / parts
            let j0 = p0 * 16, j1 = min(n, p1 * 16)
            dit_gemm_packed(Int32(rows), Int32(j1 - j0), Int32(k), x, k, p + p0 * k * 16, bias.map { $0 + j0 },
                            y + j0, n, work + i * per)
        }
    }

    nonisolated(unsafe) private static var pool: (buffer: UnsafeMutablePointer<Float>, threads: Int)?

    /// Per-thread packed-A blocks, allocated once (grown if more threads ask).
    private static func workspace(threads: Int) -> UnsafeMutablePointer<Float> {
        if let pool, pool.threads >= threads { return pool.buffer }
        pool?.buffer.deallocate()
        let count = threads * Int(dit_gemm_workspace_floats())
        pool = (UnsafeMutablePointer<Float>.allocate(capacity: count), threads)
        return pool!.buffer
    }
}
