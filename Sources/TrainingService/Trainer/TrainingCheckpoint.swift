import Foundation
import Tensors

/// Everything needed to continue a run exactly where it stopped, written atomically after each
/// epoch: model parameters and buffers, optimizer state and step count, the position (next
/// epoch, global step), the best weights and metric so far, the early-stopping count, and the
/// EMA weights. Data order and augmentation
/// need no state: they are a pure function of (seed, epoch, batch index).
struct TrainingCheckpoint {
    static let fileName = "checkpoint.safetensors"

    var nextEpoch: Int
    var step: Int
    var optimizerSteps: Int
    var bestScore: Double
    var bestMetrics: [String: Double]
    var evaluationsWithoutImprovement: Int
    /// Early stopping ended the run.
    var stopped: Bool
    var emaUpdates: Int
    var model: [(String, Tensor)]
    var optimizer: [(String, Tensor)]
    var best: [(String, Tensor)]
    var ema: [(String, Tensor)]

    func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var tensors = model.map { ("model.\($0.0)", $0.1) }
        tensors += optimizer.map { ("optimizer.\($0.0)", $0.1) }
        tensors += best.map { ("best.\($0.0)", $0.1) }
        tensors += ema.map { ("ema.\($0.0)", $0.1) }
        var metadata = ["next_epoch": "\(nextEpoch)", "step": "\(step)", "optimizer_steps": "\(optimizerSteps)",
                        "best_score": "\(bestScore)", "evaluations_without_improvement": "\(evaluationsWithoutImprovement)",
                        "stopped": stopped ? "1" : "0", "ema_updates": "\(emaUpdates)"]
        for (k, v) in bestMetrics { metadata["best_metric.\(k)"] = "\(v)" }
        try SafeTensors.write(tensors, to: directory.appendingPathComponent(Self.fileName), metadata: metadata)
    }

    /// Reads a checkpoint, or nil when the directory has none.
    static func read(from directory: URL) throws -> TrainingCheckpoint? {
        let url = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let contents = try SafeTensors.read(url)
        func number(_ key: String) throws -> Double {
            guard let raw = contents.metadata[key], let v = Double(raw) else {
                throw TensorError.io(path: url.path, message: "checkpoint metadata '\(key)' is missing or not a number")
            }
            return v
        }
        func group(_ prefix: String) -> [(String, Tensor)] {
            contents.tensors.filter { $0.key.hasPrefix(prefix) }.map { (String($0.key.dropFirst(prefix.count)), $0.value) }
        }
        var bestMetrics: [String: Double] = [:]
        for (k, v) in contents.metadata where k.hasPrefix("best_metric.") { bestMetrics[String(k.dropFirst(12))] = Double(v) }
        return TrainingCheckpoint(
            nextEpoch: Int(try number("next_epoch")), step: Int(try number("step")),
            optimizerSteps: Int(try number("optimizer_steps")), bestScore: try number("best_score"), bestMetrics: bestMetrics,
            evaluationsWithoutImprovement: Int(try number("evaluations_without_improvement")), stopped: try number("stopped") != 0,
            emaUpdates: Int(try number("ema_updates")), model: group("model."), optimizer: group("optimizer."),
            best: group("best."), ema: group("ema."))
    }
}

/// The live tensors of a run that a checkpoint saves and restores: the weights and buffers (a
/// retrieval head's under `head.`), the optimizer and the EMA.
struct RunTensors {
    let model: [(String, Tensor)]
    let optimizer: any Optimizer
    let ema: ExponentialMovingAverage?

    /// The checkpoint in `directory` (none: nil), copied into the run's tensors.
    func resume(from directory: URL?) throws -> TrainingCheckpoint? {
        guard let directory, let saved = try TrainingCheckpoint.read(from: directory) else { return nil }
        try restore(saved, from: directory)
        return saved
    }

    /// Copies `saved` into the run's tensors; a missing or reshaped tensor is an error naming it.
    private func restore(_ saved: TrainingCheckpoint, from directory: URL) throws {
        func copy(_ source: [(String, Tensor)], into targets: [(String, Tensor)], _ what: String) throws {
            let byName = Dictionary(uniqueKeysWithValues: source)
            for (name, target) in targets {
                guard let tensor = byName[name], tensor.shape == target.shape else {
                    throw TensorError.io(path: directory.path, message: "checkpoint lacks \(what) '\(name)' of shape \(target.shape)")
                }
                target.copy(from: tensor)
            }
        }
        try copy(saved.model, into: model, "weights")
        try copy(saved.optimizer, into: optimizer.stateTensors(), "optimizer state")
        optimizer.stepCount = saved.optimizerSteps
        if let ema {
            try copy(saved.ema, into: ema.shadow, "EMA weights")
            ema.updates = saved.emaUpdates
        }
    }

    /// A checkpoint of the run now, before epoch `nextEpoch`.
    func checkpoint(nextEpoch: Int, step: Int, bestScore: Double, bestMetrics: [String: Double], best: [String: Tensor],
                    evaluationsWithoutImprovement: Int = 0, stopped: Bool = false) -> TrainingCheckpoint {
        TrainingCheckpoint(nextEpoch: nextEpoch, step: step, optimizerSteps: optimizer.stepCount, bestScore: bestScore,
                           bestMetrics: bestMetrics, evaluationsWithoutImprovement: evaluationsWithoutImprovement, stopped: stopped,
                           emaUpdates: ema?.updates ?? 0, model: model, optimizer: optimizer.stateTensors(),
                           best: best.sorted { $0.key < $1.key }, ema: ema?.shadow ?? [])
    }
}
