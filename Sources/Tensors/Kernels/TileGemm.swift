/// A small register-blocked GEMM for the per-head products of attention,
/// which are too small (T×T×hd) for OpenBLAS to run at full speed. It runs on
/// the calling thread and needs padded operands: m a multiple of 6, n of 16.
enum TileGemm {
    /// c[m×n] = a[m×k] · b[k×n], all row-major with the given leading
    /// dimensions, m % 6 == 0, n % 16 == 0. Each output element is one FMA
    /// chain over k in order, whatever the tile it falls in.
    static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(m % 6 == 0 && n % 16 == 0)
        var j = 0
        while j < n {
            var i = 0
            while i < m {
                tile(k: k, a: a + i * lda, lda: lda, b: b + j, ldb: ldb, c: c + i * ldc + j, ldc: ldc)
                i += 6
            }
            j += 16
        }
    }

    /// One 6×16 tile: 12 eight-lane accumulators, two B loads and six A
    /// broadcasts per step of k.
    @inline(__always)
    static func tile(k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     c: UnsafeMutablePointer<Float>, ldc: Int) {
        var c00 = SIMD8<Float>(), c01 = SIMD8<Float>(), c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>(), c21 = SIMD8<Float>(), c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
        var c40 = SIMD8<Float>(), c41 = SIMD8<Float>(), c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
        let a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, a4 = a + 4 * lda, a5 = a + 5 * lda
        var pb = b
        for p in 0..<k {
            let b0 = UnsafeRawPointer(pb).loadUnaligned(as: SIMD8<Float>.self)
            let b1 = UnsafeRawPointer(pb + 8).loadUnaligned(as: SIMD8<Float>.self)
            var x = SIMD8<Float>(repeating: a0[p]); c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
            x = SIMD8<Float>(repeating: a1[p]); c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
            x = SIMD8<Float>(repeating: a2[p]); c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
            x = SIMD8<Float>(repeating: a3[p]); c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
            x = SIMD8<Float>(repeating: a4[p]); c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
            x = SIMD8<Float>(repeating: a5[p]); c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
            pb += ldb
        }
        func put(_ row: Int, _ v0: SIMD8<Float>, _ v1: SIMD8<Float>) {
            UnsafeMutableRawPointer(c + row * ldc).storeBytes(of: v0, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(c + row * ldc + 8).storeBytes(of: v1, as: SIMD8<Float>.self)
        }
        put(0, c00, c01); put(1, c10, c11); put(2, c20, c21); put(3, c30, c31); put(4, c40, c41); put(5, c50, c51)
    }

    /// Two adjacent 6×16 tiles at once with 16-lane vectors: 12 zmm
    /// accumulators, two B loads (one per 16-wide panel, each `ldb` apart
    /// by row) and six A broadcasts per step of k. The same FMA chain per
    /// output as `tile`, so the same bits; built where the compiler targets
    /// AVX-512 (`-D AVX512`, set by `make release` on such CPUs), since
    /// 16-lane vectors would take 24 ymm registers on AVX2.
    @inline(__always)
    static func tilePair(k: Int, a: UnsafePointer<Float>, lda: Int, b0: UnsafePointer<Float>, b1: UnsafePointer<Float>,
                         ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        var c00 = SIMD16<Float>(), c01 = SIMD16<Float>(), c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
        var c20 = SIMD16<Float>(), c21 = SIMD16<Float>(), c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
        var c40 = SIMD16<Float>(), c41 = SIMD16<Float>(), c50 = SIMD16<Float>(), c51 = SIMD16<Float>()
        let a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, a4 = a + 4 * lda, a5 = a + 5 * lda
        var pb0 = b0, pb1 = b1
        for p in 0..<k {
            let x0 = UnsafeRawPointer(pb0).loadUnaligned(as: SIMD16<Float>.self)
            let x1 = UnsafeRawPointer(pb1).loadUnaligned(as: SIMD16<Float>.self)
            var x = SIMD16<Float>(repeating: a0[p]); c00 = c00.addingProduct(x, x0); c01 = c01.addingProduct(x, x1)
            x = SIMD16<Float>(repeating: a1[p]); c10 = c10.addingProduct(x, x0); c11 = c11.addingProduct(x, x1)
            x = SIMD16<Float>(repeating: a2[p]); c20 = c20.addingProduct(x, x0); c21 = c21.addingProduct(x, x1)
            x = SIMD16<Float>(repeating: a3[p]); c30 = c30.addingProduct(x, x0); c31 = c31.addingProduct(x, x1)
            x = SIMD16<Float>(repeating: a4[p]); c40 = c40.addingProduct(x, x0); c41 = c41.addingProduct(x, x1)
            x = SIMD16<Float>(repeating: a5[p]); c50 = c50.addingProduct(x, x0); c51 = c51.addingProduct(x, x1)
            pb0 += ldb
            pb1 += ldb
        }
        func put(_ row: Int, _ v0: SIMD16<Float>, _ v1: SIMD16<Float>) {
            UnsafeMutableRawPointer(c + row * ldc).storeBytes(of: v0, as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(c + row * ldc + 16).storeBytes(of: v1, as: SIMD16<Float>.self)
        }
        put(0, c00, c01); put(1, c10, c11); put(2, c20, c21); put(3, c30, c31); put(4, c40, c41); put(5, c50, c51)
    }

    /// c[m × 16·panels] = a[m×k] · B, where B is `panels` 16-wide column
    /// panels, panel p at b + p·panelStride with rows `ldb` apart; m % 6 == 0.
    /// Panels go in pairs through `tilePair` on AVX-512 builds.
    @inline(__always)
    static func panels(m: Int, panels: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
                       panelStride: Int, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        var p = 0
        #if AVX512
        while p + 2 <= panels {
            for i in stride(from: 0, to: m, by: 6) {
                tilePair(k: k, a: a + i * lda, lda: lda, b0: b + p * panelStride, b1: b + (p + 1) * panelStride,
                         ldb: ldb, c: c + i * ldc + p * 16, ldc: ldc)
            }
            p += 2
        }
        #endif
        while p < panels {
            for i in stride(from: 0, to: m, by: 6) {
                tile(k: k, a: a + i * lda, lda: lda, b: b + p * panelStride, ldb: ldb, c: c + i * ldc + p * 16, ldc: ldc)
            }
            p += 1
        }
    }
}

// MARK: - Naive twins

extension Reference {
    /// c[i][j] = Σ_p a[i][p]·b[p][j] as TileGemm computes it: one Float FMA
    /// chain over p in order, from 0 — so the twin gives the same bits.
    public static func tileGemm(m: Int, n: Int, k: Int, a: [Float], lda: Int, b: [Float], ldb: Int) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s: Float = 0
                for p in 0..<k { s = s.addingProduct(a[i * lda + p], b[p * ldb + j]) }
                c[i * n + j] = s
            }
        }
        return c
    }
}
