import FleetProtos
import FleetStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SwiftProtobuf
import VectorIndex
import VisionData
import VisionModels

/// One job's training, run in a worker process (`vf-train worker --job ID`): its data from the
/// sample cache, checkpoints every epoch under the job's folder (a restarted worker continues
/// from the last one), progress reported through `emit` (epochs counted from 1), the model
/// package written at the end.
public struct JobWorker {
    public let job: Visionfleet_V1_Job
    public let home: URL
    public let source: DatasetSource
    public let emit: (Visionfleet_V1_JobEvent) -> Void

    public init(job: Visionfleet_V1_Job, home: URL, source: DatasetSource, emit: @escaping (Visionfleet_V1_JobEvent) -> Void) {
        self.job = job
        self.home = home
        self.source = source
        self.emit = emit
    }

    public static func folder(of id: String, home: URL) -> URL { home.appendingPathComponent("jobs/\(id)") }
    public static func packageFolder(of id: String, home: URL) -> URL { folder(of: id, home: home).appendingPathComponent("package") }

    func log(_ text: String) { emit(.with { $0.log = text }) }

    /// This process's peak resident memory (getrusage's ru_maxrss, KiB on Linux).
    public static func peakResidentBytes() -> Int64 {
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        return Int64(usage.ru_maxrss) * 1024
    }

    /// Trains and writes the package; returns the best metrics. Every task checkpoints each
    /// epoch and a resumed worker continues from the last checkpoint exactly. A retrieval package holds the training split's embeddings as its gallery
    /// (ids = positions in the split's stable order, labels = classes).
    public func run() async throws -> [String: Double] {
        let config = try ExperimentConfig.parse(yaml: job.configYaml)
        log("fetching \(job.dataset.name)@\(job.dataset.version)")
        let data = try await SampleCache(root: home.appendingPathComponent("cache")).load(job.dataset, digest: job.datasetDigest, source: source)
        guard !data.train.isEmpty, !data.validation.isEmpty else {
            throw TrainingError.failedPrecondition("\(job.dataset.name)@\(job.dataset.version) needs training and validation images (has \(data.train.count) and \(data.validation.count))")
        }
        let folder = Self.folder(of: job.id, home: home)
        let checkpoints = folder.appendingPathComponent("checkpoints")
        try FileManager.default.createDirectory(at: checkpoints, withIntermediateDirectories: true)
        let package = Self.packageFolder(of: job.id, home: home)
        try? FileManager.default.removeItem(at: package)
        let lineage = PackageManifests.Lineage(dataset: "\(job.dataset.name)@\(job.dataset.version)", jobId: job.id,
                                               datasetDigest: job.datasetDigest)
        var lastStep = Date.distantPast
        let progress: (TrainerEvent) -> Void = { event in
            switch event {
            case .step(let epoch, let step, let total, let loss, let lr, let rate, let eta, let parts):
                // A few per second at most.
                guard step == total || Date().timeIntervalSince(lastStep) >= 0.25, loss.isFinite else { return }
                lastStep = Date()
                emit(.with {
                    $0.step = .with {
                        $0.epoch = Int32(epoch + 1); $0.step = Int64(step); $0.totalSteps = Int64(total); $0.loss = loss
                        $0.learningRate = lr; $0.imagesPerSecond = rate; $0.etaSeconds = eta; $0.lossParts = parts
                    }
                })
            case .epoch(let epoch, let metrics, let isBest, let wall):
                emit(.with {
                    $0.epoch = .with {
                        $0.epoch = Int32(epoch + 1); $0.isBest = isBest; $0.wallSeconds = wall
                        $0.metrics = metrics.sorted { $0.key < $1.key }.map { m in .with { $0.name = m.key; $0.value = m.value } }
                    }
                })
            case .stopped(let epoch, let reason):
                log("stopped after epoch \(epoch + 1): \(reason)")
            case .checkpoint:
                emit(.with { $0.checkpointWritten = checkpoints.path })
            }
        }
        func classificationSets() throws -> (ClassificationSet, ClassificationSet) {
            try (ClassificationSet(dataset: data.dataset, images: data.train, channels: config.channels, height: config.height, width: config.width),
                 ClassificationSet(dataset: data.dataset, images: data.validation, channels: config.channels, height: config.height, width: config.width))
        }
        let metrics: [String: Double]
        let rate: Double
        if job.task == .detection {
            func set(_ images: [DatasetImage]) -> DetectionSet {
                DetectionSet(dataset: LabeledDataset(root: data.dataset.root, categories: data.dataset.categories, images: images))
            }
            let train = set(data.train), validation = set(data.validation)
            log("\(data.train.count) training and \(data.validation.count) validation images, \(train.classNames.count) classes")
            let trainer = try DetectionTrainer(config: config, classNames: train.classNames)
            let result = try trainer.run(train: train, validation: validation, checkpoints: checkpoints, progress: progress)
            let manifest = PackageManifests.make(config, classNames: train.classNames, metrics: result.metrics, lineage: lineage)
            try ModelPackage.write(.detection(trainer.model), manifest: manifest, to: package)
            metrics = result.metrics
            rate = result.trainImagesPerSecond
        } else if job.task == .retrieval {
            let (train, validation) = try classificationSets()
            log("\(train.count) gallery and \(validation.count) query images, \(train.classNames.count) classes")
            let trainer = try RetrievalTrainer(config: config, classes: train.classNames.count)
            let result = try trainer.run(train: train, gallery: train, queries: validation, checkpoints: checkpoints, progress: progress)
            let gallery = ExactIndex(dimension: trainer.model.dimension)
            try gallery.add(try trainer.embed(train), ids: (0..<train.count).map(Int64.init), labels: train.labels)
            let manifest = PackageManifests.make(config, classNames: train.classNames, metrics: result.metrics, lineage: lineage)
            // Each gallery row's image (its blob in vf-ingest), so search hits can be shown.
            let sources = data.train.map { ModelManifest.GallerySource(blobDigest: $0.digest, file: $0.file) }
            try ModelPackage.write(.retrieval(trainer.model), manifest: manifest, gallery: gallery,
                                   gallerySources: sources.count == gallery.count ? sources : nil, to: package)
            metrics = result.metrics
            rate = result.trainImagesPerSecond
        } else {
            let (train, validation) = try classificationSets()
            log("\(train.count) training and \(validation.count) validation images, \(train.classNames.count) classes")
            let trainer = try ClassificationTrainer(config: config, classes: train.classNames.count)
            let result = try trainer.run(train: train, validation: validation, checkpoints: checkpoints, progress: progress)
            let manifest = PackageManifests.make(config, classNames: train.classNames, metrics: result.metrics, lineage: lineage)
            try ModelPackage.write(.classification(trainer.model, pooling: config.pooling, gemP: config.gemP), manifest: manifest, to: package)
            metrics = result.metrics
            rate = result.trainImagesPerSecond
        }
        emit(.with { $0.trainImagesPerSecond = rate })
        try config.resolvedYAML.write(to: package.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)
        log("wrote the package")
        return metrics
    }
}
