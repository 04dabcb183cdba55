/// Progress of a training run, as the Trainer reports it (the training service streams these).
public enum TrainerEvent: Sendable {
    case step(epoch: Int, step: Int, totalSteps: Int, loss: Double, learningRate: Double, imagesPerSecond: Double, etaSeconds: Double)
    case epoch(epoch: Int, metrics: [String: Double], isBest: Bool, wallSeconds: Double)
    /// The run ended before its last epoch (early stopping).
    case stopped(epoch: Int, reason: String)
    /// The checkpoint after `epoch` is written (a run stopped from here on resumes after it).
    case checkpoint(epoch: Int)
}
