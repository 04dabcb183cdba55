import FleetProtos
import FleetRPC
import Foundation
import IngestService
import RegistryService
import ServiceRuntime
import TestSupport
import TrainingService
import VisionData
import VisionModels
import XCTest

/// A classification job run end to end in a real `vf-train worker` process: data over
/// StreamSamples, live events, a package with lineage; and a cancel that stops the worker.
final class JobRunTests: XCTestCase {
    /// Three classes of 16×16 RGB images, 8 each, in vf-ingest.
    static func importTinyClasses(_ datasets: DatasetClient) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vf-train-data-\(UUID().uuidString)")
        for c in 0..<3 {
            for k in 0..<8 {
                var pixels = PixelImage(width: 16, height: 16, channels: 3, fill: UInt8(30 + c * 80))
                for i in 0..<16 { pixels.pixels[(k * 16 + i) % pixels.pixels.count] = UInt8((k * 37 + i * 11) % 256) }
                let url = root.appendingPathComponent("class\(c)/\(k).png")
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try ImageCodec.encodePNG(pixels, name: "x").write(to: url)
            }
        }
        _ = try await datasets.importDataset(path: root, name: "tiny", format: .imageFolder)
    }

    static let overrides = ["data.input={channels: 3, height: 16, width: 16}", "data.mean=[0.5, 0.5, 0.5]", "data.std=[0.25, 0.25, 0.25]",
                            "data.augment={pad_crop: 0, horizontal_flip: false}", "train.batch_size=4", "scheduler.warmup_epochs=0"]

    func testClassificationJobRunsInAWorkerAndCancelStopsOne() async throws {
        let worker = ServerProcess.path("vf-train")
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: worker), "vf-train not built")
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("vf-train-run-\(UUID().uuidString)")
        let ingestServer = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0),
                                     services: [DatasetRPCService(ingest: try DatasetIngest(directory: home.appendingPathComponent("ingest")))])
        let ingestPort = try await ingestServer.start()
        let datasets = try DatasetClient(address: "127.0.0.1:\(ingestPort)", environment: [:])
        try await Self.importTinyClasses(datasets)
        let trainHome = home.appendingPathComponent("train")
        let jobs = try TrainingJobs(directory: trainHome, configs: JobQueueTests.configs, datasets: { ref in
            let version = try await datasets.version(ref)
            return (try await datasets.dataset(version.dataset).task, version)
        })
        let published = PublishedPackages()
        let runner = JobRunner(jobs: jobs, home: trainHome, worker: [worker, "worker", "--home", trainHome.path, "--ingest", "127.0.0.1:\(ingestPort)"],
                               publish: { package, job in published.add(package); return 1 })
        let scheduling = Task { await runner.run() }
        let server = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0), services: [TrainingRPCService(jobs: jobs)])
        let client = try TrainingClient(address: "127.0.0.1:\(try await server.start())", environment: [:])

        let job = try await client.submit(.with {
            $0.configYaml = "classification/resnet20_fashion_mnist"; $0.overrides = Self.overrides + ["train.epochs=2"]
            $0.modelName = "tiny-classifier"; $0.dataset = .with { $0.name = "tiny" }
        })
        var events: [Visionfleet_V1_JobEvent] = []
        try await client.watch(job.id) { events.append($0); return true }
        let done = try await client.job(job.id)
        XCTAssertEqual(done.state, .succeeded, done.failureReason)
        XCTAssertEqual(done.attempts, 1)
        XCTAssertEqual(done.publishedVersion, 1)
        XCTAssertFalse(done.bestMetrics.isEmpty)
        let states = events.compactMap { if case .stateChanged(let s)? = $0.event { s } else { nil } }
        XCTAssertEqual(states, [.queued, .running, .evaluating, .publishing, .succeeded])
        XCTAssertEqual(events.compactMap { if case .epoch(let e)? = $0.event { e.epoch } else { nil } }.count, 2)
        XCTAssertTrue(events.contains { if case .step? = $0.event { true } else { false } })
        // The package: loadable, with the job's lineage.
        let package = try XCTUnwrap(published.all.first)
        let loaded = try ModelPackage.read(from: package)
        XCTAssertEqual(loaded.manifest.lineage.dataset, "tiny@1")
        XCTAssertEqual(loaded.manifest.lineage.jobId, job.id)

        // A long job cancelled while it runs: its worker stops, the state is cancelled.
        let long = try await client.submit(.with {
            $0.configYaml = "classification/resnet20_fashion_mnist"; $0.overrides = Self.overrides + ["train.epochs=500"]
            $0.modelName = "tiny-long"; $0.dataset = .with { $0.name = "tiny" }
        })
        try await client.watch(long.id) { event in
            if case .step? = event.event { return false }
            return true
        }
        _ = try await client.cancel(long.id)
        var tail: [Visionfleet_V1_JobEvent] = []
        try await client.watch(long.id) { tail.append($0); return true }
        let cancelled = try await client.job(long.id)
        XCTAssertEqual(cancelled.state, .cancelled)
        try await Task.sleep(for: .milliseconds(300))
        XCTAssertTrue(published.all.count == 1, "a cancelled job publishes nothing")

        jobs.close()
        scheduling.cancel()
        await server.shutdown(grace: .seconds(1))
        await ingestServer.shutdown(grace: .seconds(1))
    }
}

extension JobRunTests {
    /// A detection job on the synthetic shapes, through the same worker path.
    func testDetectionJobRunsInAWorker() async throws {
        let worker = ServerProcess.path("vf-train")
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: worker), "vf-train not built")
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("vf-train-det-\(UUID().uuidString)")
        let ingestServer = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0),
                                     services: [DatasetRPCService(ingest: try DatasetIngest(directory: home.appendingPathComponent("ingest")))])
        let ingestPort = try await ingestServer.start()
        let datasets = try DatasetClient(address: "127.0.0.1:\(ingestPort)", environment: [:])
        _ = try await datasets.generateSynthetic(name: "shapes", count: 24, imageSize: 64, seed: 3)
        let trainHome = home.appendingPathComponent("train")
        let jobs = try TrainingJobs(directory: trainHome, configs: JobQueueTests.configs, datasets: { ref in
            let version = try await datasets.version(ref)
            return (try await datasets.dataset(version.dataset).task, version)
        })
        let published = PublishedPackages()
        let runner = JobRunner(jobs: jobs, home: trainHome, worker: [worker, "worker", "--home", trainHome.path, "--ingest", "127.0.0.1:\(ingestPort)"],
                               publish: { package, _ in published.add(package); return 1 })
        let scheduling = Task { await runner.run() }
        let server = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0), services: [TrainingRPCService(jobs: jobs, runner: runner)])
        let client = try TrainingClient(address: "127.0.0.1:\(try await server.start())", environment: [:])
        let job = try await client.submit(.with {
            $0.configYaml = "detection/yolox_nano_shapes"
            $0.overrides = ["data.input={channels: 3, height: 64, width: 64}", "train.epochs=1", "train.batch_size=4", "train.eval_every=1",
                            "train.no_augment_epochs=0", "scheduler.warmup_epochs=0"]
            $0.modelName = "shapes-detector"; $0.dataset = .with { $0.name = "shapes" }
        })
        try await client.watch(job.id) { _ in true }
        let done = try await client.job(job.id)
        XCTAssertEqual(done.state, .succeeded, done.failureReason)
        XCTAssertEqual(done.task, .detection)
        let loaded = try ModelPackage.read(from: try XCTUnwrap(published.all.first))
        XCTAssertEqual(loaded.manifest.task, "detection")
        XCTAssertEqual(loaded.manifest.classNames, ShapesGenerator.classNames)
        XCTAssertEqual(loaded.manifest.lineage.jobId, job.id)
        jobs.close()
        scheduling.cancel()
        await server.shutdown(grace: .seconds(1))
        await ingestServer.shutdown(grace: .seconds(1))
    }

    /// The registry down when a job publishes: retried with backoff, then `failed` with the
    /// reason and the package kept; RetryPublish succeeds once a registry answers.
    func testPublishRetriesThenFailsThenRetryPublishSucceeds() async throws {
        let worker = ServerProcess.path("vf-train")
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: worker), "vf-train not built")
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("vf-train-publish-\(UUID().uuidString)")
        let ingestServer = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0),
                                     services: [DatasetRPCService(ingest: try DatasetIngest(directory: home.appendingPathComponent("ingest")))])
        let ingestPort = try await ingestServer.start()
        let datasets = try DatasetClient(address: "127.0.0.1:\(ingestPort)", environment: [:])
        try await Self.importTinyClasses(datasets)
        let trainHome = home.appendingPathComponent("train")
        let jobs = try TrainingJobs(directory: trainHome, configs: JobQueueTests.configs, datasets: { ref in
            let version = try await datasets.version(ref)
            return (try await datasets.dataset(version.dataset).task, version)
        })
        // Publishing goes to whatever address the box holds: nothing listens at first.
        let registryAddress = AddressBox("127.0.0.1:9")
        let runner = JobRunner(jobs: jobs, home: trainHome, worker: [worker, "worker", "--home", trainHome.path, "--ingest", "127.0.0.1:\(ingestPort)"],
                               publish: { package, job in
                                   try await RegistryClient(address: registryAddress.value, environment: [:])
                                       .upload(directory: package, model: job.modelName, aliases: job.aliases).version
                               }, publishAttempts: 3, publishBackoff: .milliseconds(50))
        let scheduling = Task { await runner.run() }
        let server = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0), services: [TrainingRPCService(jobs: jobs, runner: runner)])
        let client = try TrainingClient(address: "127.0.0.1:\(try await server.start())", environment: [:])
        let job = try await client.submit(.with {
            $0.configYaml = "classification/resnet20_fashion_mnist"; $0.overrides = Self.overrides + ["train.epochs=1"]
            $0.modelName = "tiny"; $0.aliases = ["production"]; $0.dataset = .with { $0.name = "tiny" }
        })
        var logs: [String] = []
        try await client.watch(job.id) { event in
            if case .log(let text)? = event.event { logs.append(text) }
            return true
        }
        let failed = try await client.job(job.id)
        XCTAssertEqual(failed.state, .failed)
        XCTAssertTrue(failed.failureReason.hasPrefix("publishing"), failed.failureReason)
        XCTAssertEqual(logs.filter { $0.hasPrefix("publishing failed") }.count, 2, "\(logs)")

        let registryServer = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0),
                                       services: [RegistryRPCService(registry: try ModelRegistry(directory: home.appendingPathComponent("registry")))])
        registryAddress.value = "127.0.0.1:\(try await registryServer.start())"
        let retried = try await client.retryPublish(job.id)
        XCTAssertEqual(retried.state, .succeeded)
        XCTAssertEqual(retried.publishedVersion, 1)
        let version = try await RegistryClient(address: registryAddress.value, environment: [:]).version(.with { $0.name = "tiny"; $0.alias = "production" })
        XCTAssertEqual(version.lineage.jobID, job.id)
        let again = try? await client.retryPublish(job.id)
        XCTAssertNil(again, "a succeeded job cannot publish again")

        jobs.close()
        scheduling.cancel()
        await server.shutdown(grace: .seconds(1))
        await registryServer.shutdown(grace: .seconds(1))
        await ingestServer.shutdown(grace: .seconds(1))
    }
}

/// An address a test changes while a service runs.
final class AddressBox: @unchecked Sendable {
    private let lock = NSLock()
    private var address: String
    init(_ address: String) { self.address = address }
    var value: String {
        get { lock.withLock { address } }
        set { lock.withLock { address = newValue } }
    }
}

/// Packages the test's publisher was handed.
final class PublishedPackages: @unchecked Sendable {
    private let lock = NSLock()
    private var packages: [URL] = []
    func add(_ url: URL) { lock.withLock { packages.append(url) } }
    var all: [URL] { lock.withLock { packages } }
}
