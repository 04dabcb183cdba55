import Foundation

/// Pointwise activations, forward and backward side by side. Backward reads the forward
/// input `x` (or output `y` where cheaper) and writes dx = dy·f'(x).
public enum Activation: String, Sendable, Codable, CaseIterable {
    case identity, relu, relu6, silu, leakyRelu, sigmoid, gelu

    public static let leakySlope: Float = 0.01
    static let invSqrt2: Float = 1 / Float(2).squareRoot()
    static let invSqrt2Pi: Float = 1 / (2 * Float.pi).squareRoot()

    @inline(__always)
    public func apply(_ x: Float) -> Float {
        switch self {
        case .identity: x
        case .relu: max(x, 0)
        case .relu6: min(max(x, 0), 6)
        case .silu: x / (1 + expf(-x))
        case .leakyRelu: x > 0 ? x : Self.leakySlope * x
        case .sigmoid: 1 / (1 + expf(-x))
        case .gelu: 0.5 * x * (1 + erff(x * Self.invSqrt2))
        }
    }

    @inline(__always)
    public func derivative(_ x: Float) -> Float {
        switch self {
        case .identity: return 1
        case .relu: return x > 0 ? 1 : 0
        case .relu6: return x > 0 && x < 6 ? 1 : 0
        case .silu:
            let s = 1 / (1 + expf(-x))
            return s * (1 + x * (1 - s))
        case .leakyRelu: return x > 0 ? 1 : Self.leakySlope
        case .sigmoid:
            let s = 1 / (1 + expf(-x))
            return s * (1 - s)
        case .gelu:
            return 0.5 * (1 + erff(x * Self.invSqrt2)) + x * expf(-0.5 * x * x) * Self.invSqrt2Pi
        }
    }

    public func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        if self == .relu {
            Parallel.forEachChunk(count, minimumPerChunk: Parallel.elementsPerChunk) { _, r in
                PlaneMath.relu(y + r.lowerBound, x + r.lowerBound, r.count)
            }
            return
        }
        Parallel.forEachChunk(count, minimumPerChunk: Parallel.elementsPerChunk / 8) { _, r in
            var i = r.lowerBound
            if self == .silu || self == .sigmoid {
                // Eight at a time with the vector exp (SiLU dominates YOLOX's pointwise time).
                let raw = UnsafeMutableRawPointer(y), src = UnsafeRawPointer(x)
                while i + 8 <= r.upperBound {
                    let v = src.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                    let s = 1 / (1 + vectorExp(-v))
                    raw.storeBytes(of: self == .silu ? v * s : s, toByteOffset: i * 4, as: SIMD8<Float>.self)
                    i += 8
                }
            }
            while i < r.upperBound { y[i] = apply(x[i]); i += 1 }
        }
    }

    public func backward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
        if self == .relu {
            Parallel.forEachChunk(count, minimumPerChunk: Parallel.elementsPerChunk) { _, r in
                PlaneMath.reluBackward(dx + r.lowerBound, dy + r.lowerBound, x + r.lowerBound, r.count)
            }
            return
        }
        Parallel.forEachChunk(count, minimumPerChunk: Parallel.elementsPerChunk / 8) { _, r in
            var i = r.lowerBound
            if self == .silu || self == .sigmoid {
                let out = UnsafeMutableRawPointer(dx), g = UnsafeRawPointer(dy), src = UnsafeRawPointer(x)
                while i + 8 <= r.upperBound {
                    let v = src.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                    let s = 1 / (1 + vectorExp(-v))
                    let d = self == .silu ? s * (1 + v * (1 - s)) : s * (1 - s)
                    out.storeBytes(of: g.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * d, toByteOffset: i * 4, as: SIMD8<Float>.self)
                    i += 8
                }
            }
            while i < r.upperBound { dx[i] = dy[i] * derivative(x[i]); i += 1 }
        }
    }
}
