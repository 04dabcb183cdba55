import Foundation

/// Learning rate as a pure function of the step, so resuming at step k gives the same rate.
public enum LearningRateSchedule: Sendable, Equatable, Codable {
    case constant
    /// Multiply by `gamma` at each listed step.
    case step(milestones: [Int], gamma: Float)
    /// Cosine from the base rate down to `minimum` over `totalSteps`.
    case cosine(totalSteps: Int, minimum: Float)
    /// Linear warm-up from `startFactor`·base over `warmupSteps`, then `then`.
    indirect case warmup(steps: Int, startFactor: Float, then: LearningRateSchedule)

    public func rate(base: Float, step: Int) -> Float {
        switch self {
        case .constant: return base
        case .step(let milestones, let gamma):
            return base * powf(gamma, Float(milestones.filter { step >= $0 }.count))
        case .cosine(let total, let minimum):
            let t = min(Float(step) / Float(max(total, 1)), 1)
            return minimum + (base - minimum) * 0.5 * (1 + cosf(.pi * t))
        case .warmup(let steps, let startFactor, let then):
            if step < steps {
                let f = startFactor + (1 - startFactor) * Float(step) / Float(max(steps, 1))
                return base * f
            }
            return then.rate(base: base, step: step)
        }
    }
}
