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
            let constants = Constants(decay: decay, rate: learningRate, beta1: beta1, beta2: beta2, c1: c1, c2: c2, eps: eps)
            Parallel.forEachChunk(p.value.count, minimumPerChunk: Parallel.elementsPerChunk) { _, r in
                Self.update(w + r.lowerBound, g + r.lowerBound, mm + r.lowerBound, vv + r.lowerBound, count: r.count, constants)
            }
        }
    }

    struct Constants { var decay, rate, beta1, beta2, c1, c2, eps: Float }

    /// One run of parameters, sixteen lanes at a time: the same operations per element as the
    /// scalar tail (no reassociation, no fused multiply-add), so results do not depend on the split.
    @inline(__always)
    static func update(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ mm: UnsafeMutablePointer<Float>,
                       _ vv: UnsafeMutablePointer<Float>, count: Int, _ k: Constants) {
        typealias V = SIMD16<Float>
        var i = 0
        while i + 16 <= count {
            var wv = PlaneMath.load(w, i), mv = PlaneMath.load(mm, i), sv = PlaneMath.load(vv, i)
            let gv = PlaneMath.load(g, i)
            wv -= k.decay * wv
            mv = k.beta1 * mv + (1 - k.beta1) * gv
            sv = k.beta2 * sv + (1 - k.beta2) * gv * gv
            wv -= k.rate * (mv / k.c1) / ((sv / k.c2).squareRoot() + V(repeating: k.eps))
            PlaneMath.store(wv, w, i)
            PlaneMath.store(mv, mm, i)
            PlaneMath.store(sv, vv, i)
            i += 16
        }
        while i < count {
            w[i] -= k.decay * w[i]
            mm[i] = k.beta1 * mm[i] + (1 - k.beta1) * g[i]
            vv[i] = k.beta2 * vv[i] + (1 - k.beta2) * g[i] * g[i]
            w[i] -= k.rate * (mm[i] / k.c1) / ((vv[i] / k.c2).squareRoot() + k.eps)
            i += 1
        }
    }

    public func stateTensors() -> [(String, Tensor)] {
        m.enumerated().map { ("exp_avg.\($0.offset)", $0.element) } + v.enumerated().map { ("exp_avg_sq.\($0.offset)", $0.element) }
    }
}
