/// SGD with momentum, Nesterov, and L2 weight decay (PyTorch's formulation):
/// g ← g + wd·p;  v ← μ·v + g;  p ← p − lr·(nesterov ? g + μ·v : v)
public final class SGD: Optimizer {
    public let parameters: [Variable]
    public var learningRate: Float
    public var momentum: Float, weightDecay: Float, nesterov: Bool
    /// Parameters excluded from weight decay (e.g. biases and norms), by index.
    public var noDecay: Set<Int>
    public var stepCount = 0
    public var frozen: Set<Int> = []
    private let velocity: [Tensor]

    public init(parameters: [Variable], learningRate: Float, momentum: Float = 0.9, weightDecay: Float = 0,
                nesterov: Bool = false, noDecay: Set<Int> = []) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        self.noDecay = noDecay
        velocity = parameters.map { Tensor(zeros: $0.shape) }
    }

    public func step() {
        stepCount += 1
        let lr = learningRate, mu = momentum
        for (index, p) in parameters.enumerated() {
            guard let grad = p.grad, !frozen.contains(index) else { continue }
            let wd = noDecay.contains(index) ? 0 : weightDecay
            let w = p.value.pointer, g = grad.pointer, v = velocity[index].pointer
            for i in 0..<p.value.count {
                let gi = g[i] + wd * w[i]
                let vi = mu * v[i] + gi
                v[i] = vi
                w[i] -= lr * (nesterov ? gi + mu * vi : vi)
            }
        }
    }

    public func stateTensors() -> [(String, Tensor)] { velocity.enumerated().map { ("momentum.\($0.offset)", $0.element) } }
}
