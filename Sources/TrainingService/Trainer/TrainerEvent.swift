/// Progress of a training run, as the Trainer reports it (the training service streams these).
public enum TrainerEvent: Sendable {
    /// `parts`: the loss's components where it has them (detection: box, objectness, classification, l1).
    case step(epoch: Int, step: Int, totalSteps: Int, loss: Double, learningRate: Double, imagesPerSecond: Double, etaSeconds: Double,
              parts: [String: Double])
    case epoch(epoch: Int, metrics: [String: Double], isBest: Bool, wallSeconds: Double)
    /// The run ended before its last epoch (early stopping).
    case stopped(epoch: Int, reason: String)
    /// The checkpoint after `epoch` is written (a run stopped from here on resumes after it).
    case checkpoint(epoch: Int)
}
