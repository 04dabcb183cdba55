import Foundation
import Tensors
import VisionData
import VisionEval
import VisionModels

/// Trains a classification model from an ExperimentConfig: SGD or AdamW with warm-up + cosine
/// (or step) schedule, label smoothing, augmentation, evaluation every N epochs keeping the
/// best weights by the configured metric, early stopping, layer freezing by epoch, EMA weights,
/// NaN/Inf detection with the step, and exact resume from per-epoch checkpoints.
public final class ClassificationTrainer {
    public let config: ExperimentConfig
    public let model: any ClassificationNetwork
    /// The best value of `config.bestMetric` so far.
    public private(set) var bestScore = -1.0
    public private(set) var bestMetrics: [String: Double] = [:]
    /// Evaluations since the best one (early stopping counts these).
    public private(set) var evaluationsWithoutImprovement = 0
    private var bestState: [String: Tensor] = [:]
    /// The evaluation of the best weights, when this run made it (not after a resume).
    private var bestReport: ClassificationMetrics?

    public struct Result: Sendable {
        public let metrics: [String: Double]
        public let perClassAccuracy: [Double]
        public let confusion: [[Int]]
        public let wallSeconds: Double
        public let trainImagesPerSecond: Double
    }

    public init(config: ExperimentConfig, classes: Int) throws {
        self.config = config
        model = try BackboneRegistry.build(config.backbone, inputChannels: config.channels, classes: classes, seed: config.seed)
        let names = model.namedParameters().map(\.0)
        for (i, rule) in config.freeze.enumerated() where !names.contains(where: { $0.hasPrefix(rule.prefix) }) {
            let tops = Array(Set(names.map { String($0.split(separator: ".").first ?? "") })).sorted()
            throw ConfigError("train.freeze[\(i)].prefix", "\(rule.prefix) matches no parameter; names start with \(tops.joined(separator: ", "))")
        }
    }

    /// Indices of the parameters frozen during `epoch`.
    func frozenParameters(epoch: Int) -> Set<Int> {
        let rules = config.freeze.filter { epoch < $0.untilEpoch }
        guard !rules.isEmpty else { return [] }
        return Set(model.namedParameters().enumerated().filter { p in rules.contains { p.element.0.hasPrefix($0.prefix) } }.map(\.offset))
    }

    /// Trains on `train`, evaluates on `validation`, and leaves the best weights in `model`.
    /// With `checkpoints`, a checkpoint is written there after every epoch, and a run that finds
    /// one continues from it exactly. `stopAfterEpoch` ends the run early (as a crash would).
    public func run(train: ClassificationSet, validation: ClassificationSet, checkpoints: URL? = nil,
                    stopAfterEpoch: Int? = nil, progress: (TrainerEvent) -> Void = { _ in }) throws -> Result {
        guard train.channels == config.channels, train.height == config.height, train.width == config.width else {
            throw ConfigError("data.input", "config says \(config.channels)×\(config.height)×\(config.width), data is \(train.channels)×\(train.height)×\(train.width)")
        }
        let loader = try BatchLoader(data: train, batchSize: config.batchSize, shuffle: true, dropLast: true,
                                     augmentation: config.augmentation,
                                     mean: config.mean, std: config.std, seed: config.seed,
                                     prefetch: config.prefetch, workers: config.loaderWorkers)
        let stepsPerEpoch = loader.batchesPerEpoch
        let schedule = config.schedule(stepsPerEpoch: stepsPerEpoch)
        let optimizer = TrainingSupport.optimizer(config, model.namedParameters())
        let ema = config.emaDecay.map { ExponentialMovingAverage(module: model, decay: $0) }
        let graph = Graph()
        let clock = ContinuousClock()
        let start = clock.now
        var trained = 0
        var trainSeconds = 0.0
        var step = 0
        let totalSteps = config.epochs * stepsPerEpoch
        var firstEpoch = 0
        let tensors = RunTensors(model: model.stateDict(), optimizer: optimizer, ema: ema)
        if let saved = try tensors.resume(from: checkpoints) {
            firstEpoch = saved.stopped ? config.epochs : saved.nextEpoch
            step = saved.step
            bestScore = saved.bestScore
            bestMetrics = saved.bestMetrics
            evaluationsWithoutImprovement = saved.evaluationsWithoutImprovement
            bestState = Dictionary(uniqueKeysWithValues: saved.best)
        }

        var stopped = false
        var window = ProgressWindow(totalSteps: totalSteps, batchSize: config.batchSize)
        for epoch in firstEpoch..<config.epochs {
            let epochStart = clock.now
            optimizer.frozen = frozenParameters(epoch: epoch)
            for batch in loader.epoch(epoch) {
                optimizer.learningRate = schedule.rate(base: config.optimizer.lr, step: step)
                let logits = try forward(Variable(batch.images), graph)
                let loss = try graph.crossEntropy(logits, targets: batch.labels, labelSmoothing: config.labelSmoothing)
                let value = try TrainingSupport.step(loss, graph: graph, optimizer: optimizer, ema: ema, step: step)
                step += 1
                trained += batch.labels.count
                if let event = window.record(epoch: epoch, step: step, images: batch.labels.count, loss: value,
                                             learningRate: optimizer.learningRate) {
                    progress(event)
                }
            }
            trainSeconds += TrainingSupport.seconds(clock.now - epochStart)
            if (epoch + 1) % config.evalEvery == 0 || epoch + 1 == config.epochs {
                // With EMA, the averaged weights are the ones evaluated and kept.
                let (summary, isBest) = try TrainingSupport.withAveragedWeights(model, ema) { () throws -> ([String: Double], Bool) in
                    let metrics = try evaluate(validation)
                    var summary = ["top1": metrics.top1, "top5": metrics.top5, "mean_class_accuracy": metrics.meanClassAccuracy]
                    let score = summary[config.bestMetric] ?? metrics.top1
                    let isBest = score > bestScore + (config.earlyStopping?.minDelta ?? 0) || bestScore < 0
                    summary["epoch"] = Double(epoch + 1)
                    if isBest {
                        bestScore = score
                        bestMetrics = summary
                        bestState = TrainingSupport.snapshot(model)
                        bestReport = metrics
                        evaluationsWithoutImprovement = 0
                    } else {
                        evaluationsWithoutImprovement += 1
                    }
                    return (summary, isBest)
                }
                progress(.epoch(epoch: epoch, metrics: summary, isBest: isBest, wallSeconds: TrainingSupport.seconds(clock.now - epochStart)))
                if let patience = config.earlyStopping?.patience, evaluationsWithoutImprovement >= patience, epoch + 1 < config.epochs {
                    stopped = true
                    progress(.stopped(epoch: epoch, reason: "early stopping: \(config.bestMetric) did not improve for \(patience) evaluations (best \(String(format: "%.4f", bestScore)))"))
                }
            }
            if let checkpoints {
                try tensors.checkpoint(nextEpoch: epoch + 1, step: step, bestScore: bestScore, bestMetrics: bestMetrics, best: bestState,
                                       evaluationsWithoutImprovement: evaluationsWithoutImprovement, stopped: stopped).write(to: checkpoints)
                progress(.checkpoint(epoch: epoch))
            }
            if stopped { break }
            if let stopAfterEpoch, epoch + 1 >= stopAfterEpoch, epoch + 1 < config.epochs { break }
        }
        if !bestState.isEmpty { try model.load(stateDict: bestState) }
        // The full report (per class, confusion) of the weights the run keeps; evaluated again
        // only when the best epoch came from before a resume.
        let final = try bestReport ?? evaluate(validation)
        var metrics = bestMetrics
        metrics["top1"] = final.top1
        metrics["top5"] = final.top5
        metrics["mean_class_accuracy"] = final.meanClassAccuracy
        return Result(metrics: metrics, perClassAccuracy: final.perClassAccuracy, confusion: final.confusion,
                      wallSeconds: TrainingSupport.seconds(clock.now - start), trainImagesPerSecond: Double(trained) / max(trainSeconds, 1e-9))
    }

    /// Logits through the configured pooling (average pooling is the backbone's own).
    func forward(_ x: Variable, _ graph: Graph) throws -> Variable {
        switch config.pooling {
        case "max": try model.classify(try graph.globalMaxPool(try model.featureMap(x, graph)), graph)
        case "gem": try model.classify(try graph.gemPool(try model.featureMap(x, graph), p: config.gemP), graph)
        default: try model(x, graph)
        }
    }

    /// Top-1/top-5, per-class accuracy and confusion on `data`: through the fused inference plan
    /// for average pooling, the eval-mode graph otherwise.
    public func evaluate(_ data: ClassificationSet) throws -> ClassificationMetrics {
        let plan = config.pooling == "avg" ? try model.inferencePlan(height: data.height, width: data.width) : nil
        let loader = try BatchLoader(data: data, batchSize: 250, shuffle: false, mean: config.mean, std: config.std, seed: 0)
        var metrics = ClassificationMetrics(classes: data.classNames.count)
        let graph = Graph.inference()
        for batch in loader.epoch(0) {
            if let plan {
                metrics.add(scores: try plan.run(batch.images).pointer, labels: batch.labels)
            } else {
                metrics.add(scores: try forward(Variable(batch.images), graph).value.pointer, labels: batch.labels)
                graph.reset()
            }
        }
        return metrics
    }

}
