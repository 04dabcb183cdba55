import FleetProtos
import FleetStore
import Foundation
import SwiftProtobuf
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

    /// Trains and writes the package; returns the best metrics.
    public func run() async throws -> [String: Double] {
        let config = try ExperimentConfig.parse(yaml: job.configYaml)
        guard job.task == .classification else {
            throw TrainingError.failedPrecondition("\(config.task) jobs do not run in vf-train yet (classification does)")
        }
        log("fetching \(job.dataset.name)@\(job.dataset.version)")
        let data = try await SampleCache(root: home.appendingPathComponent("cache")).load(job.dataset, digest: job.datasetDigest, source: source)
        guard !data.train.isEmpty, !data.validation.isEmpty else {
            throw TrainingError.failedPrecondition("\(job.dataset.name)@\(job.dataset.version) needs training and validation images (has \(data.train.count) and \(data.validation.count))")
        }
        let train = try ClassificationSet(dataset: data.dataset, images: data.train, channels: config.channels, height: config.height, width: config.width)
        let validation = try ClassificationSet(dataset: data.dataset, images: data.validation, channels: config.channels, height: config.height, width: config.width)
        log("\(train.count) training and \(validation.count) validation images, \(train.classNames.count) classes")
        let folder = Self.folder(of: job.id, home: home)
        let checkpoints = folder.appendingPathComponent("checkpoints")
        try FileManager.default.createDirectory(at: checkpoints, withIntermediateDirectories: true)
        let trainer = try ClassificationTrainer(config: config, classes: train.classNames.count)
        var lastStep = Date.distantPast
        let result = try trainer.run(train: train, validation: validation, checkpoints: checkpoints) { event in
            switch event {
            case .step(let epoch, let step, let total, let loss, let lr, let rate, let eta):
                // A few per second at most.
                guard step == total || Date().timeIntervalSince(lastStep) >= 0.25 else { return }
                lastStep = Date()
                guard loss.isFinite else { return }
                emit(.with {
                    $0.step = .with {
                        $0.epoch = Int32(epoch + 1); $0.step = Int64(step); $0.totalSteps = Int64(total); $0.loss = loss
                        $0.learningRate = lr; $0.imagesPerSecond = rate; $0.etaSeconds = eta
                    }
                })
            case .epoch(let epoch, let metrics, let isBest, let wall):
                emit(.with {
                    $0.epoch = .with {
                        $0.epoch = Int32(epoch + 1); $0.isBest = isBest; $0.wallSeconds = wall
                        $0.metrics = metrics.sorted { $0.key < $1.key }.map { m in .with { $0.name = m.key; $0.value = m.value } }
                    }
                })
                emit(.with { $0.checkpointWritten = checkpoints.path })
            case .stopped(let epoch, let reason):
                log("stopped after epoch \(epoch + 1): \(reason)")
            }
        }
        let manifest = PackageManifests.make(config, classNames: train.classNames, metrics: result.metrics,
                                             lineage: .init(dataset: "\(job.dataset.name)@\(job.dataset.version)", jobId: job.id))
        let package = Self.packageFolder(of: job.id, home: home)
        try? FileManager.default.removeItem(at: package)
        try ModelPackage.write(.classification(trainer.model, pooling: config.pooling, gemP: config.gemP), manifest: manifest, to: package)
        try config.resolvedYAML.write(to: package.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)
        log("wrote the package")
        return result.metrics
    }
}
