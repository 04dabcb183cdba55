/// e^x for eight floats at once (Cephes' expf: x = n·ln 2 + r, a degree-6 polynomial in r,
/// 2^n from the exponent bits). Relative error under 2e-7 on [−87, 88]; inputs are clamped
/// there, so very negative x gives ≈ 1e-38 rather than 0, and very positive x ≈ 1.7e38.
@inline(__always)
func vectorExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    var v = x.replacing(with: 88.3762626647949, where: x .> 88.3762626647949)
    v = v.replacing(with: -87.3365478515625, where: v .< -87.3365478515625)
    // Adding 1.5·2²³ rounds x·log₂e to an integer held in the low mantissa bits (no
    // float→int conversion, which Swift's generic SIMD code does lane by lane).
    let shifted = v * 1.44269504088896341 + 12_582_912
    let n = shifted - 12_582_912
    let r = v - n * 0.693359375 + n * 2.12194440e-4
    var p = SIMD8<Float>(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    p = p * r * r + r + 1
    let bits = (unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
    return p * unsafeBitCast(bits, to: SIMD8<Float>.self)
}
