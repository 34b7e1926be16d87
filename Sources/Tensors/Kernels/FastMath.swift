/// Vectorised exp for 16 lanes, the building block of the activations and
/// softmax. Written with bit tricks because SIMD `.rounded()`, `min`/`max`
/// and int/float vector casts compile to lane-by-lane code on this toolchain.
public enum FastMath {
    /// e^x to about 1 ulp (Cephes expf: round x·log2(e) to n with the
    /// 1.5·2²³ trick, reduce with a two-part ln 2, a degree-6 polynomial, scale
    /// by 2ⁿ built in the exponent bits). Inputs are clamped to [−87, 88], so
    /// large negative x give ~1e-38 instead of 0 and large positive x ~1.6e38
    /// instead of inf; NaN stays NaN.
    @inline(__always)
    public static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let hi = SIMD16<Float>(repeating: 88), lo = SIMD16<Float>(repeating: -87)
        var x = x.replacing(with: hi, where: x .> hi)
        x = x.replacing(with: lo, where: x .< lo)
        let magic = SIMD16<Float>(repeating: 12582912) // 1.5·2²³
        let t = magic.addingProduct(x, SIMD16(repeating: 1.44269504088896341))
        let n = t - magic
        var r = x.addingProduct(n, SIMD16(repeating: -0.693359375))
        r = r.addingProduct(n, SIMD16(repeating: 2.12194440e-4))
        var p = SIMD16<Float>(repeating: 1.9875691500e-4)
        p = SIMD16(repeating: 1.3981999507e-3).addingProduct(p, r)
        p = SIMD16(repeating: 8.3334519073e-3).addingProduct(p, r)
        p = SIMD16(repeating: 4.1665795894e-2).addingProduct(p, r)
        p = SIMD16(repeating: 1.6666665459e-1).addingProduct(p, r)
        p = SIMD16(repeating: 5.0000001201e-1).addingProduct(p, r)
        let y = (r + 1).addingProduct(p, r * r)
        // t's low mantissa bits hold n; shifted into the exponent field and
        // re-biased they make 2ⁿ (n ∈ [−126, 127] after the clamp).
        let bits = unsafeBitCast(t, to: SIMD16<UInt32>.self) &<< 23 &+ SIMD16(repeating: 0x3F80_0000)
        return y * unsafeBitCast(bits, to: SIMD16<Float>.self)
    }

    /// e^x for one value, through the same polynomial (for loop tails, so
    /// that every element of a row gets the same function).
    @inline(__always)
    public static func exp(_ x: Float) -> Float { exp(SIMD16(repeating: x))[0] }

    /// x / (1 + e^(−z)), i.e. x·sigmoid(z).
    @inline(__always)
    static func timesSigmoid(_ x: SIMD16<Float>, _ z: SIMD16<Float>) -> SIMD16<Float> {
        x / (1 + exp(-z))
    }
}
