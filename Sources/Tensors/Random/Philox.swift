import Foundation

/// Counter-based standard-normal noise from Philox4x32-10 (Salmon et al., SC'11).
///
/// Value `j` of image `image` in stream `stream` is a pure function of
/// `(seed, stream, image, j)`: it does not depend on how many images are generated together,
/// in which order, or on which rank. Each Philox block (key = seed, counter =
/// `(j / 2, stream, image.lo, image.hi)`) yields two 53-bit uniforms and hence one Box–Muller
/// pair, computed in Double and rounded to Float. Reproducible wherever the platform libm's
/// `log`/`sin`/`cos` agree (they are not correctly rounded everywhere).
public struct PhiloxNormal: Sendable {
    /// The 64-bit key.
    public let seed: UInt64

    /// Creates a generator keyed by `seed`.
    public init(seed: UInt64) {
        self.seed = seed
    }

    /// The Philox key: the seed's two 32-bit halves.
    private var key: SIMD2<UInt32> { SIMD2(UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)) }

    /// Counter of block 0 of (stream, image); block i adds i to `x`.
    private static func firstCounter(stream: UInt64, image: UInt64) -> SIMD4<UInt32> {
        SIMD4(0, UInt32(stream), UInt32(truncatingIfNeeded: image), UInt32(truncatingIfNeeded: image >> 32))
    }

    /// Fills `out` with values `0..<out.count` of the given stream and image.
    /// `stream` must fit in 32 bits and `out.count` must not exceed 2^33.
    public func fill(_ out: UnsafeMutableBufferPointer<Float>, stream: UInt64, image: UInt64) {
        precondition(stream <= UInt64(UInt32.max), "stream must fit in 32 bits")
        precondition(out.count <= 1 << 33, "at most 2^33 values per image")
        guard let data = out.baseAddress else { return }
        let k = key
        var counter = Self.firstCounter(stream: stream, image: image)
        var j = 0
        while j < out.count {
            let (z0, z1) = Self.boxMuller(Self.block(counter: counter, key: k))
            data[j] = z0
            if j + 1 < out.count { data[j + 1] = z1 }
            j += 2
            counter.x &+= 1
        }
    }

    /// Values `0..<count` of the given stream and image; see `fill(_:stream:image:)`.
    public func normals(count: Int, stream: UInt64, image: UInt64) -> [Float] {
        precondition(count >= 0, "negative count")
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            fill(buffer, stream: stream, image: image)
            initialized = count
        }
    }

    /// A uniform integer in 0..<n from the first block of (stream, image),
    /// by the multiply-shift of 64 random bits (bias below n / 2^64).
    public func uniform(below n: Int, stream: UInt64, image: UInt64) -> Int {
        precondition(n >= 1 && stream <= UInt64(UInt32.max))
        let bits = Self.block(counter: Self.firstCounter(stream: stream, image: image), key: key)
        let r = UInt64(bits.x) << 32 | UInt64(bits.y)
        return Int(r.multipliedFullWidth(by: UInt64(n)).high)
    }

    /// One pair of standard normals from one block: u1 in (0, 1] keeps the log finite.
    @inline(__always)
    private static func boxMuller(_ bits: SIMD4<UInt32>) -> (Float, Float) {
        let a = UInt64(bits.x) << 32 | UInt64(bits.y)
        let b = UInt64(bits.z) << 32 | UInt64(bits.w)
        let u1 = Double(a >> 11 + 1) * 0x1p-53
        let u2 = Double(b >> 11) * 0x1p-53
        let r = (-2 * log(u1)).squareRoot()
        let theta = 2 * Double.pi * u2
        return (Float(r * cos(theta)), Float(r * sin(theta)))
    }

    /// The Philox4x32-10 block function, as in Random123's `philox4x32_R(10, ctr, key)`.
    @inline(__always)
    static func block(counter: SIMD4<UInt32>, key: SIMD2<UInt32>) -> SIMD4<UInt32> {
        var c = counter
        var k = key
        for round in 0..<10 {
            if round > 0 {
                k.x &+= 0x9e37_79b9
                k.y &+= 0xbb67_ae85
            }
            let p0 = UInt64(0xd251_1f53) * UInt64(c.x)
            let p1 = UInt64(0xcd9e_8d57) * UInt64(c.z)
            c = SIMD4(UInt32(truncatingIfNeeded: p1 >> 32) ^ c.y ^ k.x, UInt32(truncatingIfNeeded: p1),
                      UInt32(truncatingIfNeeded: p0 >> 32) ^ c.w ^ k.y, UInt32(truncatingIfNeeded: p0))
        }
        return c
    }
}
