import FleetProtos
import FleetRPC
import Foundation
import IngestService
import ServiceRuntime
import TestSupport
import TrainingService
import VisionData
import XCTest

/// vf-train's job RPCs over a real vf-ingest and vf-train on 127.0.0.1:0: configs checked
/// with key paths, datasets checked in vf-ingest, jobs persisted, idempotent, cancelled,
/// listed, and their events replayed to several watchers.
final class JobQueueTests: XCTestCase {
    struct Fleet {
        let ingest: RPCServer, train: RPCServer
        let datasets: DatasetClient, client: TrainingClient
        let jobs: TrainingJobs
        let home: URL

        func stop() async {
            jobs.close()
            await train.shutdown(grace: .seconds(1))
            await ingest.shutdown(grace: .seconds(1))
        }
    }

    static let configs = ConfigCatalog(folders: [URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../configs").standardizedFileURL])

    func start(home: URL? = nil, maxQueued: Int = 100) async throws -> Fleet {
        let home = home ?? FileManager.default.temporaryDirectory.appendingPathComponent("vf-train-test-\(UUID().uuidString)")
        let ingestServer = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0),
                                     services: [DatasetRPCService(ingest: try DatasetIngest(directory: home.appendingPathComponent("ingest")))])
        let ingestPort = try await ingestServer.start()
        let datasets = try DatasetClient(address: "127.0.0.1:\(ingestPort)", environment: [:])
        let jobs = try TrainingJobs(directory: home.appendingPathComponent("train"), configs: Self.configs, datasets: { ref in
            do {
                let version = try await datasets.version(ref)
                return (try await datasets.dataset(version.dataset).task, version)
            } catch let error as RPCError where error.code == .notFound {
                throw TrainingError.notFound(error.message)
            }
        }, maxQueued: maxQueued)
        let trainServer = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0), services: [TrainingRPCService(jobs: jobs)])
        let trainPort = try await trainServer.start()
        return Fleet(ingest: ingestServer, train: trainServer, datasets: datasets,
                     client: try TrainingClient(address: "127.0.0.1:\(trainPort)", environment: [:]), jobs: jobs, home: home)
    }

    func submit(_ dataset: String, name: String = "shapes-det", config: String = "detection/yolox_nano_shapes",
                overrides: [String] = ["train.batch_size=4"], key: String = "") -> Visionfleet_V1_SubmitJobRequest {
        .with {
            $0.configYaml = config; $0.overrides = overrides; $0.modelName = name; $0.idempotencyKey = key
            $0.dataset = .with { $0.name = dataset }
        }
    }

    func testSubmitChecksConfigAndDatasetThenQueuesIdempotently() async throws {
        let f = try await start()
        _ = try await f.datasets.generateSynthetic(name: "shapes", count: 20, imageSize: 64)

        // The config: a shipped name or YAML text; errors name the key path.
        let valid = try await f.client.validate("classification/resnet20_fashion_mnist", overrides: ["optimizer.lr=0.05"])
        XCTAssertTrue(valid.valid)
        XCTAssertTrue(valid.resolvedYaml.contains("lr: 5e-2"), valid.resolvedYaml)
        let invalid = try await f.client.validate("classification/resnet20_fashion_mnist", overrides: ["model.backbone.depth=7"])
        XCTAssertFalse(invalid.valid)
        XCTAssertEqual(invalid.errors.first?.field, "model.backbone.depth")
        _ = await assertRPCError(.invalidArgument, field: "model.depth") {
            try await f.client.submit(submit("shapes", overrides: ["model.depth=7"]))
        }
        _ = await assertRPCError(.notFound) { try await f.client.submit(submit("shapes", config: "detection/no_such_config")) }
        _ = await assertRPCError(.invalidArgument, field: "model_name") { try await f.client.submit(submit("shapes", name: "bad name")) }
        // The dataset: it must exist, hold the config's task and at least one batch.
        _ = await assertRPCError(.notFound) { try await f.client.submit(submit("missing")) }
        _ = await assertRPCError(.failedPrecondition) {
            try await f.client.submit(submit("shapes", config: "classification/resnet20_fashion_mnist", overrides: []))
        }
        _ = await assertRPCError(.failedPrecondition) { try await f.client.submit(submit("shapes", overrides: ["train.batch_size=64"])) }

        let job = try await f.client.submit(submit("shapes", key: "k1"))
        XCTAssertEqual(job.state, .queued)
        XCTAssertEqual(job.task, .detection)
        XCTAssertEqual(job.dataset.version, 1, "the latest version is pinned at submit")
        XCTAssertTrue(job.configDigest.hasPrefix("sha256:"))
        XCTAssertGreaterThan(job.totalEpochs, 0)
        let again = try await f.client.submit(submit("shapes", overrides: ["train.batch_size=8"], key: "k1"))
        XCTAssertEqual(again.id, job.id, "the same idempotency key returns the same job")
        let other = try await f.client.submit(submit("shapes", name: "other"))
        XCTAssertNotEqual(other.id, job.id)
        let fetched = try await f.client.job(job.id)
        XCTAssertEqual(fetched, job)
        _ = await assertRPCError(.notFound) { try await f.client.job("job-none") }

        // Listing, filtered and paged.
        let all = try await f.client.listJobs(pageSize: 1)
        XCTAssertEqual(all.map(\.id), [job.id, other.id])
        let mine = try await f.client.listJobs(model: "other")
        XCTAssertEqual(mine.map(\.id), [other.id])
        await f.stop()
    }

    func testCancelWatchersAndRestart() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("vf-train-test-\(UUID().uuidString)")
        var f = try await start(home: home, maxQueued: 2)
        _ = try await f.datasets.generateSynthetic(name: "shapes", count: 20, imageSize: 64)
        let job = try await f.client.submit(submit("shapes"))
        _ = try await f.client.submit(submit("shapes", name: "second"))
        _ = await assertRPCError(.resourceExhausted) { try await f.client.submit(submit("shapes", name: "third")) }

        // Two live watchers, then a cancel: both see queued → cancelled and their streams end.
        let client = f.client
        let watchers = (0..<2).map { _ in
            Task { () -> [Visionfleet_V1_JobEvent] in
                var seen: [Visionfleet_V1_JobEvent] = []
                try await client.watch(job.id) { seen.append($0); return true }
                return seen
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        let cancelled = try await f.client.cancel(job.id)
        XCTAssertEqual(cancelled.state, .cancelled)
        XCTAssertTrue(cancelled.hasFinishedAt)
        for w in watchers {
            let events = try await w.value
            XCTAssertEqual(events.map(\.stateChanged), [.queued, .cancelled])
            XCTAssertEqual(events.map(\.sequence), events.map(\.sequence).sorted())
        }
        let twice = try await f.client.cancel(job.id)
        XCTAssertEqual(twice.state, .cancelled, "cancelling twice is harmless")

        // After a restart the jobs, their states and events are all there; a late watcher
        // resuming from a sequence gets only what came after it.
        await f.stop()
        f = try await start(home: home, maxQueued: 2)
        let restored = try await f.client.job(job.id)
        XCTAssertEqual(restored.state, .cancelled)
        var late: [Visionfleet_V1_JobEvent] = []
        try await f.client.watch(job.id) { late.append($0); return true }
        XCTAssertEqual(late.map(\.stateChanged), [.queued, .cancelled])
        var resumed: [Visionfleet_V1_JobEvent] = []
        try await f.client.watch(job.id, from: late[0].sequence) { resumed.append($0); return true }
        XCTAssertEqual(resumed.map(\.stateChanged), [.cancelled])
        let queued = try await f.client.listJobs(state: .queued)
        XCTAssertEqual(queued.count, 1)
        await f.stop()
    }
}
