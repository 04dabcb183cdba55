import ArgumentParser
import Foundation
import Tensors
import TrainingService
import VisionData
import VisionModels

/// `vf train-local`: trains in this process with progress on stderr, then writes the model
/// package (manifest.json + weights.safetensors) and metrics.json into --out.
struct TrainLocal: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train-local", abstract: "Train a model in this process.")

    @Option(help: "Experiment config (YAML).")
    var config: String

    @Option(help: "Dataset directory.")
    var data: String

    @Option(help: "Dataset format: idx (more formats arrive with the dataset readers).")
    var format = "idx"

    @Option(help: "Output directory for the model package and metrics.json.")
    var out: String

    @Option(name: .customLong("set"), help: "Config override key.path=value (repeatable).")
    var overrides: [String] = []

    @Option(help: "Use only the first N training images (quick runs).")
    var limit: Int?

    @Option(help: "Write a checkpoint here after every epoch, and resume from one found here.")
    var checkpoints: String?

    func run() throws {
        BLASCore.reexecIfMisdetected()
        let experiment = try ExperimentConfig.load(path: config, overrides: overrides)
        let (train, validation) = try FashionData.load(format: format, directory: data, limit: limit)
        let outcome = try FashionData.train(experiment, train: train, validation: validation, datasetName: data,
                                            checkpoints: checkpoints.map { URL(fileURLWithPath: $0) })
        try FashionData.write(outcome, to: URL(fileURLWithPath: out))
        FileHandle.standardError.write(Data("wrote \(out)/manifest.json, weights.safetensors, metrics.json\n".utf8))
        print(String(format: "top1 %.4f  top5 %.4f  wall %.0f s  %.0f images/s", outcome.result.metrics["top1"] ?? 0,
                     outcome.result.metrics["top5"] ?? 0, outcome.result.wallSeconds, outcome.result.trainImagesPerSecond))
    }
}

/// Shared by `vf train-local` and `vf bench fashion-mnist`.
enum FashionData {
    struct Outcome {
        let trainer: ClassificationTrainer
        let result: ClassificationTrainer.Result
        let manifest: ModelManifest
        let classNames: [String]
    }

    static func load(format: String, directory: String, limit: Int?) throws -> (ClassificationSet, ClassificationSet) {
        guard format == "idx" else {
            throw ValidationError("--format \(format): only idx is readable so far (coco, yolo, voc, imagefolder, csv, labelstudio are not yet)")
        }
        let sets = try IDXReader.fashionMNIST(directory: URL(fileURLWithPath: directory))
        return (limit.map { sets.train.prefix($0) } ?? sets.train, sets.test)
    }

    static func train(_ config: ExperimentConfig, train: ClassificationSet, validation: ClassificationSet,
                      datasetName: String, checkpoints: URL? = nil) throws -> Outcome {
        let trainer = try ClassificationTrainer(config: config, classes: train.classNames.count)
        let result = try trainer.run(train: train, validation: validation, checkpoints: checkpoints) { event in
            switch event {
            case let .step(epoch, step, total, loss, lr, rate, eta):
                let line = String(format: "epoch %d  step %d/%d  loss %.4f  lr %.4f  %.0f img/s  eta %.0f s\n",
                                  epoch + 1, step, total, loss, lr, rate, eta)
                FileHandle.standardError.write(Data(line.utf8))
            case let .epoch(epoch, metrics, isBest, wall):
                let line = String(format: "epoch %d done in %.0f s: top1 %.4f top5 %.4f%@\n", epoch + 1, wall,
                                  metrics["top1"] ?? 0, metrics["top5"] ?? 0, isBest ? " (best)" : "")
                FileHandle.standardError.write(Data(line.utf8))
            }
        }
        let manifest = ModelManifest(
            formatVersion: ModelManifest.currentFormatVersion, task: "classification",
            architecture: .init(backbone: config.backbone.type, depth: config.backbone.depth, inputChannels: config.channels,
                                classes: train.classNames.count),
            classNames: train.classNames,
            preprocessing: .init(channels: config.channels, height: config.height, width: config.width, mean: config.mean, std: config.std),
            inputs: [.init(name: "images", dtype: "float32", shape: [-1, config.channels, config.height, config.width])],
            outputs: [.init(name: "logits", dtype: "float32", shape: [-1, train.classNames.count])],
            metrics: result.metrics,
            lineage: .init(dataset: datasetName, jobId: "local", configDigest: SHA256Digest.of(Data(config.resolvedYAML.utf8))),
            config: config.resolvedYAML, files: [:])
        return Outcome(trainer: trainer, result: result, manifest: manifest, classNames: train.classNames)
    }

    static func write(_ outcome: Outcome, to directory: URL) throws {
        try ModelPackage.write(model: outcome.trainer.model, manifest: outcome.manifest, to: directory)
        var metrics: [String: Any] = [
            "top1": outcome.result.metrics["top1"] ?? 0, "top5": outcome.result.metrics["top5"] ?? 0,
            "wall_s": outcome.result.wallSeconds, "train_images_per_s": outcome.result.trainImagesPerSecond,
            "confusion": outcome.result.confusion,
        ]
        metrics["per_class_accuracy"] = Dictionary(uniqueKeysWithValues: zip(outcome.classNames, outcome.result.perClassAccuracy))
        let data = try JSONSerialization.data(withJSONObject: metrics, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: directory.appendingPathComponent("metrics.json"), options: .atomic)
    }
}
