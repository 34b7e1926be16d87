import Foundation

/// Reproduces PyTorch's CPU default generator: `TorchGenerator(seed: s)` followed by
/// `randn` calls yields bit-for-bit the values of `torch.manual_seed(s)` followed by the
/// same sequence of float32 `torch.randn` / `torch.randn_like` calls on contiguous CPU tensors.
///
/// Not thread-safe: like torch's generator, the stream is shared mutable state.
public final class TorchGenerator {
    /// The build of ATen's float32 `normal_fill` (used for tensors of ≥ 16 elements) to mirror.
    /// The two differ by one ulp (at most 2.4e-7) in about one value in a hundred.
    public enum NormalKernel: Sendable {
        /// ATen's AVX2 kernel (Cephes-style `log256_ps`/`sincos256_ps`): what torch runs on x86
        /// CPUs whose best capability is AVX2 (`torch.backends.cpu.get_cpu_capability() == "AVX2"`).
        case avx2
        /// ATen's scalar kernel (libm `logf`/`cosf`/`sinf`): what torch runs with DEFAULT
        /// capability and, per ATen 2.15's source, with AVX512 and on ARM. Bit-exact only
        /// against the same libm (glibc here).
        case scalar
    }

    /// The kernel whose float32 output this generator mirrors.
    public let kernel: NormalKernel
    private var engine: MT19937
    /// Second Box–Muller sample of the double-precision path, kept across calls as torch does.
    private var cachedNormal: Double?

    /// Equivalent to `torch.manual_seed(seed)`; like torch, only the low 32 bits seed mt19937.
    public init(seed: UInt64, kernel: NormalKernel = .avx2) {
        self.kernel = kernel
        self.engine = MT19937(seed: UInt32(truncatingIfNeeded: seed))
        self.cachedNormal = nil
    }

    /// The next `count` values of `torch.randn(count)` (float32, mean 0, std 1).
    public func randn(_ count: Int) -> [Float] {
        precondition(count >= 0, "negative count")
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            randn(into: buffer)
            initialized = count
        }
    }

    /// Skips `words` 32-bit draws, as `torch.empty(words).uniform_()` (or any
    /// fill drawing one word per value) would.
    public func discard(_ words: Int) {
        precondition(words >= 0, "negative count")
        engine.discard(words)
    }

    /// Fills `out` like `torch.randn(out.count)` would, advancing the stream identically.
    public func randn(into out: UnsafeMutableBufferPointer<Float>) {
        // Mirrors ATen normal_kernel: only contiguous tensors of >= 16 elements take normal_fill.
        if out.count >= 16 {
            normalFill(out)
        } else {
            for i in out.indices { out[i] = Float(nextDoubleNormal()) }
        }
    }

    /// at::normal_distribution<double>: Box–Muller on two 53-bit uniforms, caching the sine half.
    private func nextDoubleNormal() -> Double {
        if let cached = cachedNormal {
            cachedNormal = nil
            return cached
        }
        let u1 = engine.nextUniformDouble()
        let u2 = engine.nextUniformDouble()
        let r = (-2 * log1p(-u2)).squareRoot()
        let theta = 2 * Double.pi * u1
        cachedNormal = r * sin(theta)
        // torch returns r·cos(θ)·std + mean; with std 1 and mean 0 only its -0 → +0 survives.
        return r * cos(theta) + 0
    }

    /// ATen normal_fill: 24-bit uniforms for every element, Box–Muller per block of 16 pairing
    /// j with j + 8, and a ragged tail handled by redrawing the last 16 elements from scratch.
    private func normalFill(_ out: UnsafeMutableBufferPointer<Float>) {
        guard let data = out.baseAddress else { return }
        let count = out.count
        for i in 0..<count { data[i] = engine.nextUniformFloat() }
        var start = 0
        while start + 16 <= count {
            boxMuller16(data + start)
            start += 16
        }
        if count % 16 != 0 {
            let tail = data + (count - 16)
            for i in 0..<16 { tail[i] = engine.nextUniformFloat() }
            boxMuller16(tail)
        }
    }

    @inline(__always)
    private func boxMuller16(_ data: UnsafeMutablePointer<Float>) {
        switch kernel {
        case .avx2:
            for j in 0..<8 {
                let radius = (-2 * CephesFloat.log(1 - data[j])).squareRoot()
                let (s, c) = CephesFloat.sinCos(CephesFloat.twoPi * data[j + 8])
                // `+ 0` reproduces the fmadd(n, std=1, mean=0) that turns -0 into +0.
                data[j] = radius * c + 0
                data[j + 8] = radius * s + 0
            }
        case .scalar:
            for j in 0..<8 {
                let radius = (-2 * logf(1 - data[j])).squareRoot()
                // ATen forms 2π·u in double before narrowing to float.
                let theta = Float(2 * Double.pi * Double(data[j + 8]))
                data[j] = radius * cosf(theta) + 0
                data[j + 8] = radius * sinf(theta) + 0
            }
        }
    }
}

/// at::mt19937 (identical output to std::mt19937), plus ATen's uniform conversions.
private struct MT19937 {
    private static let n = 624
    private static let m = 397
    private var state: [UInt32]
    private var index: Int

    init(seed: UInt32) {
        var state = [UInt32](repeating: 0, count: Self.n)
        state[0] = seed
        for j in 1..<Self.n {
            let prev = state[j - 1]
            state[j] = 1_812_433_253 &* (prev ^ (prev >> 30)) &+ UInt32(j)
        }
        self.state = state
        self.index = Self.n  // ATen twists lazily on the first draw.
    }

    @inline(__always)
    mutating func next() -> UInt32 {
        if index == Self.n { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        y ^= y >> 18
        return y
    }

    /// Advances n draws without tempering the skipped words.
    mutating func discard(_ n: Int) {
        var left = n
        while left > 0 {
            if index == Self.n { twist() }
            let k = min(left, Self.n - index)
            index += k
            left -= k
        }
    }

    /// uniform_real_distribution<float>(0, 1): low 24 bits of one draw, scaled exactly.
    @inline(__always)
    mutating func nextUniformFloat() -> Float {
        Float(next() & 0xff_ffff) * 0x1p-24
    }

    /// uniform_real_distribution<double>(0, 1): low 53 bits of random64() = (first << 32) | second.
    @inline(__always)
    mutating func nextUniformDouble() -> Double {
        let hi = UInt64(next())
        let lo = UInt64(next())
        return Double((hi << 32 | lo) & (1 << 53 - 1)) * 0x1p-53
    }

    private mutating func twist() {
        state.withUnsafeMutableBufferPointer { mt in
            for i in 0..<Self.n {
                let y = (mt[i] & 0x8000_0000) | (mt[(i + 1) % Self.n] & 0x7fff_ffff)
                mt[i] = mt[(i + Self.m) % Self.n] ^ (y >> 1) ^ (y & 1 == 0 ? 0 : 0x9908_b0df)
            }
        }
        index = 0
    }
}

/// Scalar transcription of ATen's avx_mathfun.h `log256_ps` and `sincos256_ps` (Cephes
/// polynomials, Julien Pommier / Giovanni Garberoglio, zlib licence). Torch's x86 build lets
/// GCC contract `mul_ps` + `add_ps` pairs into FMAs (-ffp-contract=fast); `fused` marks exactly
/// the contractions found in GCC 12's code for this header, which reproduces torch's output
/// bit for bit. Every other product and sum is rounded separately, in the original's order.
private enum CephesFloat {
    // Hex literals are the float32 roundings of avx_mathfun's double constants.
    static let twoPi: Float = 0x1.921fb6p+2  // 2π
    static let sqrtHalf: Float = 0x1.6a09e6p-1
    static let logP0: Float = 0x1.204376p-4  // 7.0376836292E-2
    static let logP1: Float = -0x1.d7a370p-4  // -1.1514610310E-1
    static let logP2: Float = 0x1.de4a34p-4  // 1.1676998740E-1
    static let logP3: Float = -0x1.fcba9ep-4  // -1.2420140846E-1
    static let logP4: Float = 0x1.23d37ep-3  // 1.4249322787E-1
    static let logP5: Float = -0x1.555ca0p-3  // -1.6668057665E-1
    static let logP6: Float = 0x1.999d58p-3  // 2.0000714765E-1
    static let logP7: Float = -0x1.fffff8p-3  // -2.4999993993E-1
    static let logP8: Float = 0x1.555554p-2  // 3.3333331174E-1
    static let logQ1: Float = -0x1.bd0106p-13  // -2.12194440e-4
    static let logQ2: Float = 0x1.63p-1  // 0.693359375
    static let fourOverPi: Float = 0x1.45f306p+0  // 1.27323954473516
    static let dp1: Float = -0x1.92p-1  // -0.78515625
    static let dp2: Float = -0x1.fb4p-13  // -2.4187564849853515625e-4
    static let dp3: Float = -0x1.4442d2p-25  // -3.77489497744594108e-8
    static let sinP0: Float = -0x1.9943f2p-13  // -1.9515295891E-4
    static let sinP1: Float = 0x1.11073cp-7  // 8.3321608736E-3
    static let sinP2: Float = -0x1.555546p-3  // -1.6666654611E-1
    static let cosP0: Float = 0x1.99eb9cp-16  // 2.443315711809948E-005
    static let cosP1: Float = -0x1.6c0c34p-10  // -1.388731625493765E-003
    static let cosP2: Float = 0x1.55554ap-5  // 4.166664568298827E-002

    /// `log256_ps` for one lane. Inputs here are 1 - u with u in [0, 1), i.e. normal floats
    /// in [2^-24, 1], so the original's denormal clamp and NaN mask never fire.
    @inline(__always)
    private static func fused(_ a: Float, _ b: Float, _ c: Float) -> Float {
        c.addingProduct(a, b)
    }

    /// `log256_ps` for one lane. Inputs here are 1 - u with u in [0, 1), i.e. normal floats
    /// in [2^-24, 1], so the original's denormal clamp and NaN mask never fire.
    @inline(__always)
    static func log(_ v: Float) -> Float {
        let bits = v.bitPattern
        var e = Float(Int32(bitPattern: bits >> 23) - 0x7f) + 1
        var x = Float(bitPattern: (bits & ~0x7f80_0000) | 0x3f00_0000)  // mantissa in [0.5, 1)
        if x < sqrtHalf {
            e -= 1
            x = (x - 1) + x
        } else {
            x -= 1
        }
        let z = x * x
        var y = fused(logP0, x, logP1)
        y = fused(y, x, logP2)
        y = fused(y, x, logP3)
        y = fused(y, x, logP4)
        y = fused(y, x, logP5)
        y = fused(y, x, logP6)
        y = fused(y, x, logP7)
        y = fused(y, x, logP8)
        y = fused(y * x, z, e * logQ1)
        y -= z * 0.5
        x += y
        return fused(e, logQ2, x)
    }

    /// `sincos256_ps` for one lane with theta = 2π·u ≥ 0, so the input sign is always clear.
    @inline(__always)
    static func sinCos(_ theta: Float) -> (sin: Float, cos: Float) {
        var j = Int32(theta * fourOverPi)
        j = (j + 1) & ~1
        let octant = Float(j)
        var x = fused(octant, dp1, theta)
        x = fused(octant, dp2, x)
        x = fused(octant, dp3, x)
        let z = x * x
        var c = fused(cosP0, z, cosP1)
        c = fused(c, z, cosP2)
        c = fused(c * z, z, -(z * 0.5))
        c += 1
        var s = fused(sinP0, z, sinP1)
        s = fused(s, z, sinP2)
        s = fused(s * z, x, x)
        // The original blends the two polynomials with masked adds, which turns -0 into +0.
        let useSinPoly = j & 2 == 0
        var sine = (useSinPoly ? s : c) + 0
        var cosine = (useSinPoly ? c : s) + 0
        if j & 4 != 0 { sine = -sine }
        if ~(j - 2) & 4 != 0 { cosine = -cosine }
        return (sine, cosine)
    }
}
