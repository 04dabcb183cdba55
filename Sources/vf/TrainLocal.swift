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

    @Option(help: "Dataset format: idx, coco, yolo, voc, imagefolder, csv, labelstudio.")
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
        if experiment.task == "detection" {
            return try DetectionRun.run(experiment, format: format, directory: data, limit: limit, out: URL(fileURLWithPath: out))
        }
        if experiment.task == "retrieval" {
            return try RetrievalRun.run(experiment, format: format, directory: data, limit: limit, out: URL(fileURLWithPath: out))
        }
        let (train, validation) = try FashionData.load(format: format, directory: data, limit: limit, config: experiment)
        let outcome = try FashionData.train(experiment, train: train, validation: validation, datasetName: data,
                                            checkpoints: checkpoints.map { URL(fileURLWithPath: $0) })
        try FashionData.write(outcome, to: URL(fileURLWithPath: out))
        FileHandle.standardError.write(Data("wrote \(out)/manifest.json, weights.safetensors, config.yaml, metrics.json\n".utf8))
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

    /// Train and validation sets in the config's input size. IDX folders with Fashion-MNIST's
    /// file names load directly; every other format goes through its reader, whose per-item
    /// problems are printed and left out.
    static func load(format: String, directory: String, limit: Int?, config: ExperimentConfig) throws -> (ClassificationSet, ClassificationSet) {
        guard let kind = DatasetFormat(rawValue: format) else {
            throw ValidationError("--format \(format): expected one of \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if kind == .idx, let sets = try? IDXReader.fashionMNIST(directory: URL(fileURLWithPath: directory)) {
            return (limit.map { sets.train.prefix($0) } ?? sets.train, sets.test)
        }
        let (dataset, train, validation) = try readSplit(kind, directory: directory, limit: limit)
        return (try ClassificationSet(dataset: dataset, images: train, channels: config.channels, height: config.height, width: config.width),
                try ClassificationSet(dataset: dataset, images: validation, channels: config.channels, height: config.height, width: config.width))
    }

    /// Reads a dataset with its format's reader (problems printed and left out) and splits it:
    /// the format's `val`/`test` split, else a 10% digest hold-out; `limit` caps training.
    static func readSplit(_ kind: DatasetFormat, directory: String, limit: Int?) throws
        -> (dataset: LabeledDataset, train: [DatasetImage], validation: [DatasetImage]) {
        let read = try kind.read(URL(fileURLWithPath: directory))
        for problem in read.problems.prefix(20) { FileHandle.standardError.write(Data("skipped \(problem)\n".utf8)) }
        if read.problems.count > 20 { FileHandle.standardError.write(Data("… and \(read.problems.count - 20) more problems\n".utf8)) }
        var (train, validation) = read.dataset.trainValidationSplit()
        if let limit { train = Array(train.prefix(limit)) }
        guard !train.isEmpty, !validation.isEmpty else {
            throw ValidationError("\(directory): \(train.count) training and \(validation.count) validation images; both must be non-empty")
        }
        FileHandle.standardError.write(Data("\(kind.rawValue): \(train.count) training, \(validation.count) validation images, \(read.dataset.categories.count) classes, \(read.problems.count) problems\n".utf8))
        return (read.dataset, train, validation)
    }

    static func train(_ config: ExperimentConfig, train: ClassificationSet, validation: ClassificationSet,
                      datasetName: String, checkpoints: URL? = nil) throws -> Outcome {
        let trainer = try ClassificationTrainer(config: config, classes: train.classNames.count)
        let result = try trainer.run(train: train, validation: validation, checkpoints: checkpoints, progress: ProgressLog.write)
        let manifest = PackageManifests.make(config, classNames: train.classNames, metrics: result.metrics,
                                             lineage: .init(dataset: datasetName))
        return Outcome(trainer: trainer, result: result, manifest: manifest, classNames: train.classNames)
    }

    static func write(_ outcome: Outcome, to directory: URL) throws {
        try ModelPackage.write(.classification(outcome.trainer.model, pooling: outcome.trainer.config.pooling, gemP: outcome.trainer.config.gemP),
                               manifest: outcome.manifest, to: directory)
        try outcome.trainer.config.resolvedYAML.write(to: directory.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)
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
