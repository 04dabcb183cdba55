/// Updates parameters from their gradients. State (momentum, moments) is kept per parameter in
/// the order given and exposed for checkpoints.
public protocol Optimizer: AnyObject {
    var learningRate: Float { get set }
    var parameters: [Variable] { get }
    func step()
    /// Named optimizer state tensors, for checkpoints ("momentum.3", "exp_avg.3", ...).
    func stateTensors() -> [(String, Tensor)]
    var stepCount: Int { get set }
    /// Parameters (by index) that `step()` leaves untouched, state included: frozen layers.
    var frozen: Set<Int> { get set }
}

extension Optimizer {
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Scales gradients so their global L2 norm is at most `maxNorm`; returns the norm before.
    @discardableResult
    public func clipGradNorm(_ maxNorm: Float) -> Float {
        var sq: Double = 0
        for p in parameters {
            guard let g = p.grad else { continue }
            for i in 0..<g.count { sq += Double(g[i] * g[i]) }
        }
        let norm = Float(sq.squareRoot())
        if norm > maxNorm, norm > 0 {
            let k = maxNorm / (norm + 1e-6)
            for p in parameters {
                guard let g = p.grad else { continue }
                for i in 0..<g.count { g.pointer[i] *= k }
            }
        }
        return norm
    }
}
