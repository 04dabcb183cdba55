import Foundation

/// AdamW: Adam moments with decoupled weight decay (Loshchilov & Hutter).
public final class AdamW: Optimizer {
    public let parameters: [Variable]
    public var learningRate: Float
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public var noDecay: Set<Int>
    public var stepCount = 0
    public var frozen: Set<Int> = []
    private let m: [Tensor], v: [Tensor]

    public init(parameters: [Variable], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                eps: Float = 1e-8, weightDecay: Float = 0.01, noDecay: Set<Int> = []) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        self.noDecay = noDecay
        m = parameters.map { Tensor(zeros: $0.shape) }
        v = parameters.map { Tensor(zeros: $0.shape) }
    }

    public func step() {
        stepCount += 1
        let t = Float(stepCount)
        let c1 = 1 - powf(beta1, t), c2 = 1 - powf(beta2, t)
        for (index, p) in parameters.enumerated() {
            guard let grad = p.grad, !frozen.contains(index) else { continue }
            let decay = noDecay.contains(index) ? 0 : learningRate * weightDecay
            let w = p.value.pointer, g = grad.pointer, mm = m[index].pointer, vv = v[index].pointer
            for i in 0..<p.value.count {
                w[i] -= decay * w[i]
                mm[i] = beta1 * mm[i] + (1 - beta1) * g[i]
                vv[i] = beta2 * vv[i] + (1 - beta2) * g[i] * g[i]
                w[i] -= learningRate * (mm[i] / c1) / ((vv[i] / c2).squareRoot() + eps)
            }
        }
    }

    public func stateTensors() -> [(String, Tensor)] {
        m.enumerated().map { ("exp_avg.\($0.offset)", $0.element) } + v.enumerated().map { ("exp_avg_sq.\($0.offset)", $0.element) }
    }
}
