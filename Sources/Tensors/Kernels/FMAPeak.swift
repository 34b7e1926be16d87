import Dispatch
import Foundation

/// This CPU's fp32 FMA limit, measured on each thread's CPU clock: twelve independent accumulator
/// chains of 8 lanes (ymm, AVX2) or 16 lanes (zmm where the binary was built
/// for AVX-512), enough to hide the FMA latency on two ports. The forward's
/// "% of FMA peak" in `dit bench` divides by these.
public enum FMAPeak {
    /// GFLOP/s of `threads` threads with 8-lane (AVX2) or 16-lane vectors.
    public static func gflops(lanes: Int, threads: Int) -> Double {
        lanes == 16 ? measure(SIMD16<Float>.self, threads: threads) : measure(SIMD8<Float>.self, threads: threads)
    }

    /// GFLOP/s of one thread with vectors of `V`'s width.
    static func measure<V: SIMD>(_: V.Type, seconds: Double = 0.2) -> Double where V.Scalar == Float {
        var best = 0.0
        let iterations = 2_000_000
        let deadline = threadNanoseconds() + UInt64(seconds * 1e9)
        repeat {
            let start = threadNanoseconds()
            let sink = V.scalarCount == 16 ? chains16(iterations) : chains8(iterations)
            let ns = Double(threadNanoseconds() - start)
            if sink == 42 { print("") }   // keeps the loop's result alive
            best = max(best, 2 * Double(V.scalarCount) * 12 * Double(iterations) / ns)
        } while DispatchTime.now().uptimeNanoseconds < deadline
        return best
    }

    /// GFLOP/s of `threads` threads, each running its own chains.
    static func measure<V: SIMD>(_ v: V.Type, threads: Int) -> Double where V.Scalar == Float {
        guard threads > 1 else { return measure(v) }
        var rates = [Double](repeating: 0, count: threads)
        rates.withUnsafeMutableBufferPointer { r in
            let base = r.baseAddress!
            DispatchQueue.concurrentPerform(iterations: threads) { i in base[i] = measure(v) }
        }
        return rates.reduce(0, +)
    }

    /// This thread's CPU time: a pure compute loop is then timed correctly
    /// even when other processes share the cores.
    static func threadNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    @inline(never) static func chains8(_ n: Int) -> Float { chains(SIMD8<Float>.self, iterations: n) }
    @inline(never) static func chains16(_ n: Int) -> Float { chains(SIMD16<Float>.self, iterations: n) }

    /// Inlined into the two concrete callers above, so each is specialised
    /// to its vector type (a generic loop would call SIMD operations).
    @inline(__always)
    static func chains<V: SIMD>(_: V.Type, iterations: Int) -> Float where V.Scalar == Float {
        let b = V(repeating: 0.999_999), c = V(repeating: 1e-7)
        var a0 = V(repeating: 1), a1 = V(repeating: 2), a2 = V(repeating: 3), a3 = V(repeating: 4)
        var a4 = V(repeating: 5), a5 = V(repeating: 6), a6 = V(repeating: 7), a7 = V(repeating: 8)
        var a8 = V(repeating: 9), a9 = V(repeating: 10), a10 = V(repeating: 11), a11 = V(repeating: 12)
        for _ in 0..<iterations {   // a ← a·b + c: one FMA per chain per iteration
            a0 = c.addingProduct(a0, b); a1 = c.addingProduct(a1, b); a2 = c.addingProduct(a2, b)
            a3 = c.addingProduct(a3, b); a4 = c.addingProduct(a4, b); a5 = c.addingProduct(a5, b)
            a6 = c.addingProduct(a6, b); a7 = c.addingProduct(a7, b); a8 = c.addingProduct(a8, b)
            a9 = c.addingProduct(a9, b); a10 = c.addingProduct(a10, b); a11 = c.addingProduct(a11, b)
        }
        let s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11
        return s.sum()
    }
}
