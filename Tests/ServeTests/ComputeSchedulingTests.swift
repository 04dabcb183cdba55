import FleetProtos
import FleetRPC
import Foundation
@testable import InferenceService
import RegistryService
import ServiceRuntime
import TestSupport
import XCTest

/// The real vf-serve process puts its helper threads under SCHED_BATCH while the batcher is
/// saturated and back under the normal policy after; the model instances' threads stay normal.
final class ComputeSchedulingTests: XCTestCase {
    typealias Methods = ServiceCatalog.VisionService
    static let normal: Int32 = 0, batch: Int32 = 3

    /// A registry (in process) serving the classifier as shapes@production; vf-serve as a real
    /// process following it with `arguments`, once the model serves.
    func startServe(_ arguments: [String]) async throws -> (ServerProcess, RPCClient, RPCServer, URL) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vf-serve-sched-\(UUID().uuidString)")
        let (_, registryServer, registryPort, _) = try await ServeHarness.registryWithClassifier(under: root)
        let serve = try ServerProcess("vf-serve", home: root.appendingPathComponent("serve"), extraArguments: [
            "--registry", "127.0.0.1:\(registryPort)", "--models", "shapes@production", "--metrics-port", "0", "--http-port", "0",
        ] + arguments)
        try await serve.start()
        let client = RPCClient(channel: try RPCChannel(target: "127.0.0.1:\(serve.port)"))
        let deadline = ContinuousClock.now + .seconds(60)
        while try await HealthProbe.check(client, service: ServiceCatalog.VisionService.name) != .serving {
            guard ContinuousClock.now < deadline else {
                XCTFail("shapes did not serve in 60 s:\n\(serve.log)")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return (serve, client, registryServer, root)
    }

    /// Each thread of `pid`: its name and scheduling policy (field 41 of its stat file).
    static func threads(of pid: Int32) -> [(tid: Int32, name: String, policy: Int32)] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.compactMap { tid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { return nil }
            // Fields after the name start at field 3; the policy is field 41.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 38, let policy = Int32(fields[38]), let id = Int32(tid) else { return nil }
            return (id, String(stat[stat.index(after: open)..<close]), policy)
        }
    }

    static func policy(of name: String, in pid: Int32) -> Int32? { threads(of: pid).first { $0.name == name }?.policy }

    /// The process's Prometheus text, from the metrics port its log names.
    static func scrape(_ serve: ServerProcess) throws -> String {
        let line = try XCTUnwrap(serve.log.split(separator: "\n").first { $0.contains("metrics listening") }, serve.log)
        let port = try XCTUnwrap(line.firstMatch(of: /port=(\d+)/)?.1, String(line))
        let fetched = try runPython(["-c", "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())",
                                     "http://127.0.0.1:\(port)/metrics"])
        XCTAssertEqual(fetched.status, 0, fetched.stderr)
        return fetched.stdout
    }

    func testBatchPolicyLeavesOnlyTheInstancesNormal() async throws {
        let (serve, client, registryServer, root) = try await startServe(["--helper-policy", "batch"])
        let pid = serve.process.processIdentifier
        let threads = Self.threads(of: pid)
        let compute = threads.filter { $0.name.hasPrefix("vf-compute") }
        XCTAssertFalse(compute.isEmpty, "the model's instances run on threads named vf-compute: \(threads.map(\.name))")
        for t in compute { XCTAssertEqual(t.policy, Self.normal, "\(t.name) computes under the normal policy") }
        XCTAssertEqual(Self.policy(of: "vf-grpc-cq", in: pid), Self.batch, "the completion-queue thread yields: \(threads)")
        XCTAssertEqual(threads.first { $0.tid == pid }?.policy, Self.batch, "the main thread yields")
        let metrics = try Self.scrape(serve)
        XCTAssertTrue(metrics.contains("vf_serve_helpers_yielding 1") && metrics.contains("vf_serve_helper_moves 1"), metrics)
        // Requests are answered as before.
        let image = try ServePackages.png(width: 32, height: 32, seed: 3)
        let response: Visionfleet_V1_ClassifyResponse = try await client.unary(Methods.classify.path, Visionfleet_V1_ClassifyRequest.with {
            $0.model.name = "shapes"; $0.image.encoded = image
        })
        XCTAssertEqual(response.servedBy.version, 1)
        serve.kill(SIGTERM)
        await registryServer.shutdown(grace: .seconds(1))
        try? FileManager.default.removeItem(at: root)
    }

    /// Adaptive (the default): the helpers yield under saturating load and preempt again once
    /// requests come one at a time.
    func testAdaptiveHelpersYieldOnlyWhileSaturated() async throws {
        let (serve, client, registryServer, root) = try await startServe(["--max-batch-size", "2"])
        let pid = serve.process.processIdentifier
        XCTAssertEqual(Self.policy(of: "vf-grpc-cq", in: pid), Self.normal, "idle: the helpers keep the normal policy")
        let request = Visionfleet_V1_ClassifyRequest.with { $0.model.name = "shapes"; $0.image.encoded = try! ServePackages.png(width: 32, height: 32, seed: 5) }
        func classify() async throws {
            let _: Visionfleet_V1_ClassifyResponse = try await client.unary(Methods.classify.path, request)
        }
        // 32 clients against batches of 2: saturated.
        let seenYielding = Locked(false)
        let until = ContinuousClock.now + .seconds(3)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<32 {
                group.addTask { while ContinuousClock.now < until { try await classify() } }
            }
            group.addTask {
                while ContinuousClock.now < until {
                    if Self.policy(of: "vf-grpc-cq", in: pid) == Self.batch { seenYielding.withLock { $0 = true } }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            try await group.waitForAll()
        }
        XCTAssertTrue(seenYielding.withLock { $0 }, "under saturating load the completion-queue thread moved to SCHED_BATCH")
        for t in Self.threads(of: pid) where t.name.hasPrefix("vf-compute") {
            XCTAssertEqual(t.policy, Self.normal, "\(t.name) computes under the normal policy")
        }
        // One request at a time: unsaturated batches move the helpers back.
        for _ in 0..<(ComputeScheduling.switchAfter + 4) { try await classify() }
        XCTAssertEqual(Self.policy(of: "vf-grpc-cq", in: pid), Self.normal, "back under the normal policy: \(Self.threads(of: pid))")
        // Exposed to Prometheus: not yielding now, after an even number (at least two) of moves.
        let metrics = try Self.scrape(serve)
        XCTAssertTrue(metrics.contains("vf_serve_helpers_yielding 0"), metrics)
        let moves = try XCTUnwrap(metrics.firstMatch(of: /vf_serve_helper_moves (\d+)/).flatMap { Int($0.1) }, metrics)
        XCTAssertGreaterThanOrEqual(moves, 2)
        XCTAssertEqual(moves % 2, 0, "yielding and back, as often")
        serve.kill(SIGTERM)
        await registryServer.shutdown(grace: .seconds(1))
        try? FileManager.default.removeItem(at: root)
    }

    func testAnUnknownPolicyIsRefused() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerProcess.path("vf-serve"))
        process.arguments = ["--helper-policy", "fastest", "--port", "0"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertNotEqual(process.terminationStatus, 0)
        XCTAssertTrue(text.contains("helper policy 'fastest'") && text.contains("adaptive, batch, normal"), text)
    }
}
