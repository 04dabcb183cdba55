import Tensors
import VisionModels

/// Pieces every trainer shares: the configured optimizer and the step-progress window.
enum TrainingSupport {
    /// SGD or AdamW from the config over named parameters, without weight decay on
    /// batch-norm parameters and biases.
    static func optimizer(_ config: ExperimentConfig, _ named: [(String, Variable)]) -> any Optimizer {
        let noDecay = Set(named.enumerated().filter { $0.element.0.hasSuffix("bias") || $0.element.1.shape.count == 1 }.map(\.offset))
        let parameters = named.map(\.1)
        return config.optimizer.type == "adamw"
            ? AdamW(parameters: parameters, learningRate: config.optimizer.lr, weightDecay: config.optimizer.weightDecay, noDecay: noDecay)
            : SGD(parameters: parameters, learningRate: config.optimizer.lr, momentum: config.optimizer.momentum,
                  weightDecay: config.optimizer.weightDecay, nesterov: config.optimizer.nesterov, noDecay: noDecay)
    }

    /// One optimisation step on `loss`: checks it is finite, back-propagates, steps the optimizer
    /// and the EMA, clears the graph. Returns the loss value.
    static func step(_ loss: Variable, graph: Graph, optimizer: any Optimizer, ema: ExponentialMovingAverage? = nil,
                     step: Int) throws -> Float {
        let value = loss.value[0]
        try LossGuard.check(value, step: step)
        optimizer.zeroGrad()
        graph.backward(loss)
        optimizer.step()
        ema?.update()
        graph.reset()
        return value
    }

    /// A copy of a module's weights and buffers by name.
    static func snapshot(_ module: any Module) -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: module.stateDict().map { ($0.0, $0.1.copy()) })
    }

    /// Runs `body` with the EMA weights loaded (when there is an EMA), then puts the raw ones back.
    static func withAveragedWeights<T>(_ module: any Module, _ ema: ExponentialMovingAverage?, _ body: () throws -> T) throws -> T {
        guard let ema else { return try body() }
        let raw = snapshot(module)
        try module.load(stateDict: ema.stateDict)
        defer { try? module.load(stateDict: raw) }
        return try body()
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
}

/// Averages loss and speed over windows of 20 steps (spanning epoch boundaries) and turns each
/// full window, and the last step, into a `.step` event.
struct ProgressWindow {
    let totalSteps: Int
    let batchSize: Int
    private let clock = ContinuousClock()
    private var start: ContinuousClock.Instant
    private var images = 0, steps = 0
    private var loss = 0.0
    private var parts: [String: Double] = [:]

    init(totalSteps: Int, batchSize: Int) {
        self.totalSteps = totalSteps
        self.batchSize = batchSize
        start = clock.now
    }

    /// Records a finished step; returns the event when a window closes.
    mutating func record(epoch: Int, step: Int, images n: Int, loss value: Float, learningRate: Float,
                         parts stepParts: KeyValuePairs<String, Float> = [:]) -> TrainerEvent? {
        images += n
        loss += Double(value)
        for (name, v) in stepParts { parts[name, default: 0] += Double(v) }
        steps += 1
        guard steps == 20 || step == totalSteps else { return nil }
        let rate = Double(images) / TrainingSupport.seconds(clock.now - start)
        let event = TrainerEvent.step(epoch: epoch, step: step, totalSteps: totalSteps, loss: loss / Double(steps),
                                      learningRate: Double(learningRate), imagesPerSecond: rate,
                                      etaSeconds: Double((totalSteps - step) * batchSize) / rate,
                                      parts: parts.mapValues { $0 / Double(steps) })
        (images, steps, loss, start) = (0, 0, 0, clock.now)
        parts.removeAll(keepingCapacity: true)
        return event
    }
}
