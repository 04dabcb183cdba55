import FleetProtos
import FleetRPC
import Foundation
@testable import InferenceService
import RegistryService
import ServiceRuntime
import Synchronization
import Tensors
import TestSupport
import XCTest

/// Dynamic batching (batches form, a full queue refuses, expired requests are dropped), swaps
/// without failed requests, and a registry that is down when vf-serve starts.
final class BatchingAndLifecycleTests: XCTestCase {
    typealias Methods = ServiceCatalog.VisionService

    static func classify(_ h: ServeHarness, _ image: Data, timeout: Duration? = nil) async throws -> Visionfleet_V1_ClassifyResponse {
        try await h.call(Methods.classify, Visionfleet_V1_ClassifyRequest.with { $0.model.name = "shapes"; $0.image.encoded = image }, timeout: timeout)
    }

    func testBatchesFormUnderConcurrentLoad() async throws {
        let h = try await ServeHarness.start(models: ["shapes@production"], batching: BatchingConfig(maxBatchSize: 16, maxQueueDelayMicroseconds: 2000))
        _ = try await h.registryClient.upload(directory: try ServePackages.classifier(), model: "shapes", aliases: ["production"])
        try await h.waitServing("shapes")
        let image = try ServePackages.png(width: 32, height: 32, seed: 4)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<48 { group.addTask { _ = try await Self.classify(h, image) } }
            try await group.waitForAll()
        }
        let stats: Inference_ModelStatisticsResponse = try await h.call(ServiceCatalog.GRPCInferenceService.modelStatistics,
                                                                          Inference_ModelStatisticsRequest.with { $0.name = "shapes" })
        let s = try XCTUnwrap(stats.modelStats.first)
        XCTAssertEqual(s.inferenceCount, 48)
        XCTAssertLessThan(s.executionCount, 48, "requests from many clients run together")
        XCTAssertTrue(s.batchStats.contains { $0.batchSize > 1 }, "\(s.batchStats.map(\.batchSize))")
        XCTAssertEqual(s.inferenceStats.success.count, 48)

        // The same figures as Prometheus text over HTTP, Triton's names, by model and version.
        let metrics = MetricsHTTPServer(host: "127.0.0.1", port: 0, metrics: h.repository.metrics)
        let serving = Task { try await metrics.run() }
        var port: Int?
        for _ in 0..<200 where port == nil {
            port = metrics.boundPort
            try await Task.sleep(for: .milliseconds(20))
        }
        let fetched = try runPython(["-c", "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())",
                                     "http://127.0.0.1:\(try XCTUnwrap(port))/metrics"])
        serving.cancel()
        XCTAssertEqual(fetched.status, 0, fetched.stderr)
        let text = fetched.stdout
        XCTAssertTrue(text.contains(#"nv_inference_request_success{model="shapes",version="1"} 48"#), text)
        XCTAssertTrue(text.contains(#"nv_inference_count{model="shapes",version="1"} 48"#), text)
        XCTAssertTrue(text.contains(#"nv_inference_exec_count{model="shapes",version="1"} \#(s.executionCount)"#), text)
        for name in ["nv_inference_request_failure", "nv_inference_request_duration_us", "nv_inference_queue_duration_us",
                     "nv_inference_compute_infer_duration_us", "vf_inference_batch_size_bucket"] {
            XCTAssertTrue(text.contains(name), "\(name) in \(text)")
        }
        await h.stop()
    }

    /// A small model gets two instances by default on two cores. One client at a time is served
    /// by instance 0 alone (its weights stay hot in its core's cache; a second instance would
    /// only add wake-ups), on every core (its wide plan: nothing else runs), and concurrent
    /// clients bring in the second.
    func testTheSecondInstanceJoinsOnlyUnderLoad() async throws {
        try XCTSkipIf(Parallel.threads < 2, "one core: one instance")
        let h = try await ServeHarness.start(models: ["shapes@production"], batching: BatchingConfig(maxBatchSize: 4, maxQueueDelayMicroseconds: 0))
        _ = try await h.registryClient.upload(directory: try ServePackages.classifier(), model: "shapes", aliases: ["production"])
        try await h.waitServing("shapes")
        let image = try ServePackages.png(width: 32, height: 32, seed: 7)
        let served = try XCTUnwrap(h.repository.servedVersions().first)
        XCTAssertEqual(served.batching.instances, 2, "a 32×32 classifier on two cores")
        let config: Inference_ModelConfigResponse = try await h.call(ServiceCatalog.GRPCInferenceService.modelConfig,
                                                                     Inference_ModelConfigRequest.with { $0.name = "shapes" })
        XCTAssertEqual(config.config.instanceGroup.first?.count, 2)
        XCTAssertEqual(served.batcher.executionsPerInstance.runs, [0, 0])
        for _ in 0..<20 { _ = try await Self.classify(h, image) }
        let alone = served.batcher.executionsPerInstance
        XCTAssertEqual(alone.runs, [20, 0], "one request at a time runs on instance 0")
        XCTAssertEqual(alone.wide, 20, "alone, on every core")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<64 { group.addTask { _ = try await Self.classify(h, image) } }
            try await group.waitForAll()
        }
        let (runs, wide) = served.batcher.executionsPerInstance
        XCTAssertGreaterThan(runs[1], 0, "concurrent requests bring in instance 1: \(runs)")
        XCTAssertLessThan(wide - alone.wide, runs.reduce(0, +) - 20, "64 clients at once mostly run on each instance's share")
        let stats: Inference_ModelStatisticsResponse = try await h.call(ServiceCatalog.GRPCInferenceService.modelStatistics,
                                                                          Inference_ModelStatisticsRequest.with { $0.name = "shapes" })
        XCTAssertEqual(stats.modelStats.first?.inferenceCount, 84)
        XCTAssertEqual(stats.modelStats.first?.executionCount, UInt64(runs.reduce(0, +)))
        await h.stop()
    }

    func testAFullQueueRefusesAndExpiredRequestsAreDropped() async throws {
        let h = try await ServeHarness.start(models: ["shapes@production"],
                                             batching: BatchingConfig(maxBatchSize: 1, maxQueueDelayMicroseconds: 0, maxQueueSize: 2))
        _ = try await h.registryClient.upload(directory: try ServePackages.classifier(), model: "shapes", aliases: ["production"])
        try await h.waitServing("shapes")
        let image = try ServePackages.png(width: 32, height: 32, seed: 5)
        let codes = Locked<[RPCError.Code: Int]>([:])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<64 {
                group.addTask {
                    do { _ = try await Self.classify(h, image); codes.withLock { $0[.ok, default: 0] += 1 } } catch let e as RPCError {
                        codes.withLock { $0[e.code, default: 0] += 1 }
                    }
                }
            }
            try await group.waitForAll()
        }
        let seen = codes.withLock { $0 }
        XCTAssertGreaterThan(seen[.resourceExhausted] ?? 0, 0, "\(seen)")
        XCTAssertGreaterThan(seen[.ok] ?? 0, 0, "\(seen)")
        XCTAssertEqual((seen[.ok] ?? 0) + (seen[.resourceExhausted] ?? 0), 64, "\(seen)")
        await h.stop()

        // Deadlines: with one image per batch and a long queue, requests that expire while queued
        // are answered DEADLINE_EXCEEDED and never computed.
        let d = try await ServeHarness.start(models: ["shapes@production"],
                                             batching: BatchingConfig(maxBatchSize: 1, maxQueueDelayMicroseconds: 0, maxQueueSize: 1024))
        _ = try await d.registryClient.upload(directory: try ServePackages.classifier(), model: "shapes", aliases: ["production"])
        try await d.waitServing("shapes")
        let expired = Locked(0), other = Locked<[String]>([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<300 {
                group.addTask {
                    do { _ = try await Self.classify(d, image, timeout: .milliseconds(15)) } catch let e as RPCError {
                        if e.code == .deadlineExceeded { expired.withLock { $0 += 1 } } else { other.withLock { $0.append("\(e)") } }
                    }
                }
            }
            try await group.waitForAll()
        }
        try await Task.sleep(for: .milliseconds(300))
        let served = try XCTUnwrap(d.repository.servedVersions().first)
        XCTAssertEqual(other.withLock { $0 }, [])
        XCTAssertGreaterThan(expired.withLock { $0 }, 0)
        XCTAssertLessThan(served.statistics.totals.inferences, 300, "expired requests are not computed")
        await d.stop()
    }

    func testZeroFailedRequestsWhileTheAliasMovesThreeTimes() async throws {
        let h = try await ServeHarness.start(models: ["shapes@production"], batching: BatchingConfig(maxBatchSize: 8))
        _ = try await h.registryClient.upload(directory: try ServePackages.classifier(seed: 1), model: "shapes", aliases: ["production"])
        for seed in 2...4 { _ = try await h.registryClient.upload(directory: try ServePackages.classifier(seed: UInt64(seed)), model: "shapes") }
        try await h.waitServing("shapes", version: 1)
        let image = try ServePackages.png(width: 32, height: 32, seed: 6)
        let stop = Locked(false), failures = Locked<[String]>([]), versions = Locked<Set<Int32>>([]), count = Locked(0)
        let clients = (0..<4).map { _ in
            Task {
                while !stop.withLock({ $0 }) {
                    do {
                        let r = try await Self.classify(h, image)
                        _ = versions.withLock { $0.insert(r.servedBy.version) }
                        count.withLock { $0 += 1 }
                    } catch { failures.withLock { $0.append("\(error)") } }
                }
            }
        }
        for version: Int32 in [2, 3, 4] {
            try await Task.sleep(for: .milliseconds(150))
            _ = try await h.registryClient.setAlias("shapes", "production", version: version)
            try await h.waitServing("shapes", version: version)
        }
        try await Task.sleep(for: .milliseconds(150))
        stop.withLock { $0 = true }
        for c in clients { await c.value }
        XCTAssertEqual(failures.withLock { $0 }, [], "no request fails during a swap")
        XCTAssertEqual(versions.withLock { $0 }, [1, 2, 3, 4])
        XCTAssertGreaterThan(count.withLock { $0 }, 40)
        // Old versions were drained and let go: one version is served.
        XCTAssertEqual(h.repository.servedVersions().map(\.version), [4])
        await h.stop()
    }

    func testRegistryDownAtStartupThenUp() async throws {
        // A registry that has the model, stopped before vf-serve starts.
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vf-serve-down-\(UUID().uuidString)")
        let (registry, first, port, registryClient) = try await ServeHarness.registryWithClassifier(under: root)
        await first.shutdown(grace: .seconds(1))

        let holder = ServerHolder()
        let repository = ModelRepository(source: RegistryModelSource(client: registryClient),
                                          settings: ServeSettings(home: root.appendingPathComponent("serve"), retryInitial: .milliseconds(50),
                                                                  retryMax: .milliseconds(300))) { ready in
            holder.server?.setServing(ServiceCatalog.VisionService.name, ready)
        }
        let vision = VisionRPCService(repository: repository)
        let server = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0), services: [vision, InferenceProtocolService(repository: repository)])
        holder.server = server
        let servePort = try await server.start()
        repository.start([.init(parsing: "shapes@production")])
        let client = RPCClient(channel: try RPCChannel(target: "127.0.0.1:\(servePort)"))
        try await Task.sleep(for: .milliseconds(400))
        let live: Inference_ServerLiveResponse = try await client.unary(ServiceCatalog.GRPCInferenceService.serverLive.path, Inference_ServerLiveRequest())
        XCTAssertTrue(live.live, "the process is live")
        let ready: Inference_ServerReadyResponse = try await client.unary(ServiceCatalog.GRPCInferenceService.serverReady.path, Inference_ServerReadyRequest())
        XCTAssertFalse(ready.ready)
        var status = try await HealthProbe.check(client, service: ServiceCatalog.VisionService.name)
        XCTAssertEqual(status, .notServing)

        // The registry comes back on the same port: vf-serve loads the model and turns SERVING.
        let second = RPCServer(config: ServerConfig(host: "127.0.0.1", port: port), services: [RegistryRPCService(registry: registry)])
        try await second.start()
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, status != .serving {
            try await Task.sleep(for: .milliseconds(50))
            status = try await HealthProbe.check(client, service: ServiceCatalog.VisionService.name)
        }
        XCTAssertEqual(status, .serving)
        let image = try ServePackages.png(width: 32, height: 32, seed: 7)
        let response: Visionfleet_V1_ClassifyResponse = try await client.unary(Methods.classify.path, Visionfleet_V1_ClassifyRequest.with {
            $0.model.name = "shapes"; $0.image.encoded = image
        })
        XCTAssertEqual(response.servedBy.version, 1)
        await repository.shutdown()
        await server.shutdown(grace: .seconds(1))
        await second.shutdown(grace: .seconds(1))
        try? FileManager.default.removeItem(at: root)
    }
}

/// A value shared by test tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}
