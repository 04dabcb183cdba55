/// Stops training on a NaN or infinite loss, naming the step, before the bad gradients reach
/// the weights.
public enum LossGuard {
    public static func check(_ loss: Float, step: Int) throws {
        guard loss.isFinite else { throw TensorError.nonFiniteLoss(step: step, value: loss) }
    }
}
