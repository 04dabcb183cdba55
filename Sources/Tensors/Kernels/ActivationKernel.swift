import CVectorKernels
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
        if self == .silu || self == .sigmoid {
            // The C kernel at the CPU's vector width (SiLU dominates YOLOX's pointwise time).
            let silu: Int32 = self == .silu ? 1 : 0
            Parallel.forEachChunk(count, minimumPerChunk: Parallel.elementsPerChunk / 8) { _, r in
                vf_sigmoid_family_forward(y + r.lowerBound, x + r.lowerBound, r.count, silu)
            }
            return
        }
        Parallel.forEachChunk(count, minimumPerChunk: Parallel.elementsPerChunk / 8) { _, r in
            var i = r.lowerBound
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
        if self == .silu || self == .sigmoid {
            let silu: Int32 = self == .silu ? 1 : 0
            Parallel.forEachChunk(count, minimumPerChunk: Parallel.elementsPerChunk / 8) { _, r in
                vf_sigmoid_family_backward(dx + r.lowerBound, dy + r.lowerBound, x + r.lowerBound, r.count, silu)
            }
            return
        }
        Parallel.forEachChunk(count, minimumPerChunk: Parallel.elementsPerChunk / 8) { _, r in
            var i = r.lowerBound
            while i < r.upperBound { dx[i] = dy[i] * derivative(x[i]); i += 1 }
        }
    }
}
