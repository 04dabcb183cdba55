import FleetProtos
import Foundation
import ServiceRuntime
import TestSupport
import XCTest

/// The real vf-ingest, vf-registry and vf-train executables on port 0: a tiny job of each task
/// trained from vf-ingest's data and published to vf-registry with its lineage, metrics and
/// the `production` alias moved.
final class FleetTrainingTests: XCTestCase {
    func testEachTaskTrainsAndPublishesThroughTheFleet() async throws {
        for name in ["vf-ingest", "vf-registry", "vf-train"] {
            try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: ServerProcess.path(name)), "\(name) not built")
        }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vf-fleet-train-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let ingest = try ServerProcess("vf-ingest", home: root.appendingPathComponent("ingest"))
        let registry = try ServerProcess("vf-registry", home: root.appendingPathComponent("registry"))
        try await ingest.start()
        try await registry.start()
        let train = try ServerProcess("vf-train", home: root.appendingPathComponent("train"),
                                      extraArguments: ["--ingest", "127.0.0.1:\(ingest.port)", "--registry", "127.0.0.1:\(registry.port)"])
        train.process.environment = ProcessInfo.processInfo.environment.merging(["VISIONFLEET_CONFIGS": JobQueueTests.configs.folders[0].path]) { $1 }
        try await train.start()
        defer { for server in [train, registry, ingest] { server.kill(SIGTERM) } }

        let datasets = try DatasetClient(address: "127.0.0.1:\(ingest.port)", environment: [:])
        try await JobRunTests.importTinyClasses(datasets)
        _ = try await datasets.generateSynthetic(name: "shapes", count: 24, imageSize: 64, seed: 3)
        let jobs = try TrainingClient(address: "127.0.0.1:\(train.port)", environment: [:])
        let models = try RegistryClient(address: "127.0.0.1:\(registry.port)", environment: [:])

        let requests: [(task: Visionfleet_V1_TaskType, request: Visionfleet_V1_SubmitJobRequest, metric: String, files: [String])] = [
            (.classification, JobRunTests.request("classification/resnet20_fashion_mnist", JobRunTests.overrides + ["train.epochs=2"],
                                                  model: "tiny-classifier", aliases: ["production"]), "top1", []),
            (.detection, JobRunTests.request("detection/yolox_nano_shapes",
                                             ["data.input={channels: 3, height: 64, width: 64}", "train.epochs=2", "train.batch_size=4",
                                              "train.eval_every=1", "train.no_augment_epochs=1", "scheduler.warmup_epochs=0"],
                                             model: "shapes-detector", dataset: "shapes", aliases: ["production"]), "ap", []),
            (.retrieval, JobRunTests.request("retrieval/resnet20_fashion_mnist_arcface", JobRunTests.overrides + ["train.epochs=2"],
                                             model: "tiny-retrieval", aliases: ["production"]), "hit_rate@1", ["gallery"]),
        ]
        for (task, request, metric, files) in requests {
            let submitted = try await jobs.submit(request)
            var checkpoints = 0, epochs: [Int32] = []
            try await jobs.watch(submitted.id) { event in
                switch event.event {
                case .checkpointWritten?: checkpoints += 1
                case .epoch(let e)?: epochs.append(e.epoch)
                default: break
                }
                return true
            }
            let job = try await jobs.job(submitted.id)
            XCTAssertEqual(job.state, .succeeded, "\(task): \(job.failureReason)")
            XCTAssertEqual(job.task, task)
            XCTAssertEqual(checkpoints, 2, "\(task): a checkpoint per epoch")
            XCTAssertFalse(epochs.isEmpty, "\(task)")
            let dataset = try await datasets.version(request.dataset)
            let published = try await models.version(.with { $0.name = request.modelName; $0.alias = "production" })
            XCTAssertEqual(published.version, job.publishedVersion)
            XCTAssertEqual(published.task, task)
            XCTAssertEqual(published.aliases, ["production"])
            XCTAssertEqual(published.lineage.dataset.name, request.dataset.name)
            XCTAssertEqual(published.lineage.dataset.version, dataset.version)
            XCTAssertEqual(published.lineage.datasetDigest, dataset.manifestDigest)
            XCTAssertFalse(dataset.manifestDigest.isEmpty)
            XCTAssertEqual(published.lineage.jobID, job.id)
            XCTAssertEqual(published.lineage.configDigest, job.configDigest)
            XCTAssertTrue(published.lineage.codeVersion.hasPrefix("visionfleet "), published.lineage.codeVersion)
            let metrics = Dictionary(uniqueKeysWithValues: published.metrics.map { ($0.name, $0.value) })
            XCTAssertNotNil(metrics[metric], "\(task) publishes \(metric): \(metrics.keys.sorted())")
            for prefix in files {
                XCTAssertTrue(published.files.contains { $0.path.hasPrefix(prefix) }, "\(task) package has \(prefix): \(published.files.map(\.path))")
            }
        }
    }
}
