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

/// Jobs of every task run end to end in real `vf-train worker` processes: data over
/// StreamSamples, live events, packages with lineage; cancel stops a worker; publishing retries.
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

    static func request(_ config: String, _ overrides: [String], model: String, dataset: String = "tiny",
                        aliases: [String] = []) -> Visionfleet_V1_SubmitJobRequest {
        .with { $0.configYaml = config; $0.overrides = overrides; $0.modelName = model; $0.aliases = aliases; $0.dataset = .with { $0.name = dataset } }
    }

    func testClassificationJobRunsInAWorkerAndCancelStopsOne() async throws {
        let fleet = try await WorkerFleet.start(data: Self.importTinyClasses)
        let (done, events) = try await fleet.run(Self.request("classification/resnet20_fashion_mnist", Self.overrides + ["train.epochs=2"], model: "tiny-classifier"))
        XCTAssertEqual(done.state, .succeeded, done.failureReason)
        XCTAssertEqual(done.attempts, 1)
        XCTAssertEqual(done.publishedVersion, 1)
        XCTAssertEqual(done.epoch, 2)
        XCTAssertFalse(done.bestMetrics.isEmpty)
        let states = events.compactMap { if case .stateChanged(let s)? = $0.event { s } else { nil } }
        XCTAssertEqual(states, [.queued, .running, .evaluating, .publishing, .succeeded])
        XCTAssertEqual(events.compactMap { if case .epoch(let e)? = $0.event { Int(e.epoch) } else { nil } }, [1, 2])
        XCTAssertTrue(events.contains { if case .step? = $0.event { true } else { false } })
        XCTAssertGreaterThan(done.peakRssBytes, 1 << 20, "the worker reports its peak memory")
        XCTAssertTrue(events.contains { if case .publishedVersion(1)? = $0.event { true } else { false } })
        let loaded = try ModelPackage.read(from: try XCTUnwrap(fleet.published.all.first))
        XCTAssertEqual(loaded.manifest.lineage.dataset, "tiny@1")
        XCTAssertEqual(loaded.manifest.lineage.jobId, done.id)

        // A long job cancelled while it runs: its worker stops, the state is cancelled, nothing is published.
        let long = try await fleet.client.submit(Self.request("classification/resnet20_fashion_mnist", Self.overrides + ["train.epochs=500"], model: "tiny-long"))
        try await fleet.client.watch(long.id) { event in
            if case .step? = event.event { return false }
            return true
        }
        _ = try await fleet.client.cancel(long.id)
        try await fleet.client.watch(long.id) { _ in true }
        let cancelled = try await fleet.client.job(long.id)
        XCTAssertEqual(cancelled.state, .cancelled)
        try await Task.sleep(for: .milliseconds(300))
        XCTAssertEqual(fleet.published.all.count, 1, "a cancelled job publishes nothing")

        // A job over its max runtime fails saying so. It runs for 7 s in one worker: longer than
        // an idle thread lives in the service's pool (a worker tied to its spawning thread, as
        // PR_SET_PDEATHSIG ties it, was killed when that thread ended after 5 s).
        var limited = Self.request("classification/resnet20_fashion_mnist", Self.overrides + ["train.epochs=500"], model: "tiny-limited")
        limited.maxRuntimeSeconds = 7
        let (overtime, _) = try await fleet.run(limited)
        XCTAssertEqual(overtime.state, .failed)
        XCTAssertTrue(overtime.failureReason.contains("max runtime"), overtime.failureReason)
        XCTAssertEqual(overtime.attempts, 1, "the worker ran to its limit uninterrupted")
        await fleet.stop()
    }

    func testDetectionAndRetrievalJobsRunInWorkers() async throws {
        let fleet = try await WorkerFleet.start { datasets in
            try await Self.importTinyClasses(datasets)
            _ = try await datasets.generateSynthetic(name: "shapes", count: 24, imageSize: 64, seed: 3)
        }
        let (detector, detectorEvents) = try await fleet.run(Self.request(
            "detection/yolox_nano_shapes", ["data.input={channels: 3, height: 64, width: 64}", "train.epochs=1", "train.batch_size=4",
                                            "train.eval_every=1", "train.no_augment_epochs=0", "scheduler.warmup_epochs=0"],
            model: "shapes-detector", dataset: "shapes"))
        XCTAssertEqual(detector.state, .succeeded, detector.failureReason)
        XCTAssertEqual(detector.task, .detection)
        let parts = detectorEvents.compactMap { if case .step(let s)? = $0.event { Set(s.lossParts.keys) } else { nil } }
        XCTAssertEqual(parts.last, ["box", "objectness", "classification", "l1"], "step progress carries the loss's parts")
        let (retriever, _) = try await fleet.run(Self.request(
            "retrieval/resnet20_fashion_mnist_arcface", Self.overrides + ["train.epochs=1"], model: "tiny-retrieval"))
        XCTAssertEqual(retriever.state, .succeeded, retriever.failureReason)
        let packages = try fleet.published.all.map { try ModelPackage.read(from: $0) }
        XCTAssertEqual(packages.map(\.manifest.task), ["detection", "retrieval"])
        XCTAssertEqual(packages[0].manifest.classNames, ShapesGenerator.classNames)
        XCTAssertEqual(packages[1].manifest.gallery?.count, 21, "the training split's embeddings are the gallery")
        XCTAssertEqual(packages.map(\.manifest.lineage.jobId), [detector.id, retriever.id])
        await fleet.stop()
    }

    /// SIGKILL on the worker alone (as the OOM killer would): the job resumes from its last
    /// checkpoint in a new worker and succeeds.
    func testWorkerKilledAloneResumes() async throws {
        let fleet = try await WorkerFleet.start(data: Self.importTinyClasses)
        let job = try await fleet.client.submit(Self.request("classification/resnet20_fashion_mnist", Self.overrides + ["train.epochs=8"], model: "killed"))
        try await fleet.client.watch(job.id) { event in
            if case .checkpointWritten? = event.event { return false }
            return true
        }
        let pids = try WorkerFleet.workerProcesses(of: job.id)
        XCTAssertEqual(pids.count, 1, "one worker runs the job")
        for pid in pids { kill(pid, SIGKILL) }
        try await fleet.client.watch(job.id) { _ in true }
        let done = try await fleet.client.job(job.id)
        XCTAssertEqual(done.state, .succeeded, done.failureReason)
        XCTAssertEqual(done.attempts, 2)
        await fleet.stop()
    }

    /// A job whose loss diverges fails with the step it happened at; the service carries on.
    func testDivergingJobFailsNamingTheStep() async throws {
        let fleet = try await WorkerFleet.start(data: Self.importTinyClasses)
        let (job, _) = try await fleet.run(Self.request("classification/resnet20_fashion_mnist",
                                                        Self.overrides + ["train.epochs=3", "data.std=[1e-37, 1e-37, 1e-37]"], model: "diverge"))
        XCTAssertEqual(job.state, .failed)
        XCTAssertTrue(job.failureReason.contains("step"), job.failureReason)
        XCTAssertTrue(fleet.published.all.isEmpty)
        let (next, _) = try await fleet.run(Self.request("classification/resnet20_fashion_mnist", Self.overrides + ["train.epochs=1"], model: "after"))
        XCTAssertEqual(next.state, .succeeded, next.failureReason)
        await fleet.stop()
    }

    /// The registry down when a job publishes: retried with backoff, then `failed` with the
    /// reason and the package kept; RetryPublish succeeds once a registry answers.
    func testPublishRetriesThenFailsThenRetryPublishSucceeds() async throws {
        // Publishing goes to whatever address the box holds: nothing listens at first.
        let registryAddress = AddressBox("127.0.0.1:9")
        let fleet = try await WorkerFleet.start(publish: { package, job in
            try await RegistryClient(address: registryAddress.value, environment: [:]).upload(directory: package, model: job.modelName, aliases: job.aliases).version
        }, publishAttempts: 3, publishBackoff: .milliseconds(50), data: Self.importTinyClasses)
        let (failed, events) = try await fleet.run(Self.request("classification/resnet20_fashion_mnist", Self.overrides + ["train.epochs=1"],
                                                                model: "tiny", aliases: ["production"]))
        XCTAssertEqual(failed.state, .failed)
        XCTAssertTrue(failed.failureReason.hasPrefix("publishing"), failed.failureReason)
        let logs = events.compactMap { if case .log(let text)? = $0.event { text } else { nil } }
        XCTAssertEqual(logs.filter { $0.hasPrefix("publishing failed") }.count, 2, "\(logs)")

        let registryServer = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0),
                                       services: [RegistryRPCService(registry: try ModelRegistry(directory: fleet.home.appendingPathComponent("registry")))])
        registryAddress.value = "127.0.0.1:\(try await registryServer.start())"
        let retried = try await fleet.client.retryPublish(failed.id)
        XCTAssertEqual(retried.state, .succeeded)
        XCTAssertEqual(retried.publishedVersion, 1)
        let version = try await RegistryClient(address: registryAddress.value, environment: [:]).version(.with { $0.name = "tiny"; $0.alias = "production" })
        XCTAssertEqual(version.lineage.jobID, failed.id)
        let again = try? await fleet.client.retryPublish(failed.id)
        XCTAssertNil(again, "a succeeded job cannot publish again")
        await fleet.stop()
        await registryServer.shutdown(grace: .seconds(1))
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

/// vf-ingest and vf-train in this process, jobs run by real `vf-train worker` processes; the
/// publisher records the packages it is handed unless the test gives its own.
struct WorkerFleet {
    let client: TrainingClient
    let datasets: DatasetClient
    let jobs: TrainingJobs
    let home: URL
    let servers: [RPCServer]
    let scheduling: Task<Void, Never>
    var published = PublishedPackages()

    static func start(publish: JobRunner.Publisher? = nil, publishAttempts: Int = 4, publishBackoff: Duration = .seconds(1),
                      data: (DatasetClient) async throws -> Void) async throws -> WorkerFleet {
        let worker = ServerProcess.path("vf-train")
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: worker), "vf-train not built")
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("vf-train-run-\(UUID().uuidString)")
        let ingestServer = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0),
                                     services: [DatasetRPCService(ingest: try DatasetIngest(directory: home.appendingPathComponent("ingest")))])
        let ingestPort = try await ingestServer.start()
        let datasets = try DatasetClient(address: "127.0.0.1:\(ingestPort)", environment: [:])
        try await data(datasets)
        let trainHome = home.appendingPathComponent("train")
        let jobs = try TrainingJobs(directory: trainHome, configs: JobQueueTests.configs, datasets: { ref in
            let version = try await datasets.version(ref)
            return (try await datasets.dataset(version.dataset).task, version)
        })
        let published = PublishedPackages()
        let runner = JobRunner(jobs: jobs, home: trainHome, worker: [worker, "worker", "--home", trainHome.path, "--ingest", "127.0.0.1:\(ingestPort)"],
                               publish: publish ?? { package, _ in published.add(package); return 1 },
                               publishAttempts: publishAttempts, publishBackoff: publishBackoff)
        let scheduling = Task { await runner.run() }
        let server = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0), services: [TrainingRPCService(jobs: jobs, runner: runner)])
        let client = try TrainingClient(address: "127.0.0.1:\(try await server.start())", environment: [:])
        var fleet = WorkerFleet(client: client, datasets: datasets, jobs: jobs, home: home, servers: [server, ingestServer], scheduling: scheduling)
        fleet.published = published
        return fleet
    }

    /// Pids of the `vf-train worker` processes running a job.
    static func workerProcesses(of id: String) throws -> [Int32] {
        let pgrep = Process()
        pgrep.executableURL = URL(fileURLWithPath: "/usr/bin/pgrep")
        pgrep.arguments = ["-f", "worker .*job \(id)"]
        let out = Pipe()
        pgrep.standardOutput = out
        try pgrep.run()
        pgrep.waitUntilExit()
        return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n").compactMap { Int32($0) }
    }

    func stop() async {
        jobs.close()
        scheduling.cancel()
        for server in servers { await server.shutdown(grace: .seconds(1)) }
    }

    /// Submits, follows the job to its end and returns it.
    func run(_ request: Visionfleet_V1_SubmitJobRequest) async throws -> (Visionfleet_V1_Job, [Visionfleet_V1_JobEvent]) {
        let job = try await client.submit(request)
        var events: [Visionfleet_V1_JobEvent] = []
        try await client.watch(job.id) { events.append($0); return true }
        return (try await client.job(job.id), events)
    }
}

/// Packages the test's publisher was handed.
final class PublishedPackages: @unchecked Sendable {
    private let lock = NSLock()
    private var packages: [URL] = []
    func add(_ url: URL) { lock.withLock { packages.append(url) } }
    var all: [URL] { lock.withLock { packages } }
}
