/// A small, fast, seedable generator (xoshiro128**) whose whole state is four words, so a
/// checkpoint can store it and a resumed run draws the same numbers.
public struct RandomState: Sendable, Equatable, Codable {
    public var s0: UInt32, s1: UInt32, s2: UInt32, s3: UInt32

    public init(seed: UInt64) {
        var x = seed &+ 0x9E37_79B9_7F4A_7C15
        func splitmix() -> UInt32 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return UInt32(truncatingIfNeeded: z ^ (z >> 31))
        }
        s0 = splitmix(); s1 = splitmix(); s2 = splitmix(); s3 = splitmix()
    }

    public mutating func next() -> UInt32 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 25) &* 9
        let t = s1 << 9
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 11 | s3 >> 21
        return result
    }

    /// Uniform in [0, 1).
    public mutating func nextFloat() -> Float { Float(next() >> 8) * (1.0 / 16_777_216.0) }

    /// Standard normal (Box–Muller).
    public mutating func nextGaussian() -> Float {
        let u1 = max(nextFloat(), 1e-7)
        let u2 = nextFloat()
        return (-2 * logf(u1)).squareRoot() * cosf(2 * .pi * u2)
    }

    /// Uniform integer in 0..<n.
    /// (In Swift `>>` binds tighter than `*`: the product is parenthesised on purpose.)
    public mutating func nextInt(_ n: Int) -> Int { Int((UInt64(next()) &* UInt64(n)) >> 32) }
}

import Foundation
