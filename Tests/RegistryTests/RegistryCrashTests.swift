import FleetProtos
import FleetRPC
import Foundation
import ServiceRuntime
import TestSupport
import XCTest

/// SIGKILL on the real vf-registry process while uploads run, twenty times over one store:
/// after each restart every listed version downloads and verifies whole, version numbers stay
/// dense, every acknowledged upload is still there, and no temp file survives.
final class RegistryCrashTests: XCTestCase {
    func testSIGKILLDuringUploadsLosesNothingCommitted() async throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: RegistryProcess.executable), "vf-registry not built")
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("vf-registry-kill-\(UUID().uuidString)")
        // 1–10 MiB: the larger ones fill the client's write queue, so a kill lands while writes wait for credit.
        let packages = try (0..<4).map { try TestPackage.make(weightsBytes: (1 + 3 * $0) << 20, seed: UInt64(100 + $0)) }
        var acknowledged: Set<Int32> = []
        var killsDuringUploads = 0
        for round in 0..<20 {
            let server = try RegistryProcess(home: home)
            try await server.start()
            let client = try RegistryClient(address: "127.0.0.1:\(server.port)", environment: [:])
            try await checkStore(client, acknowledged: acknowledged, round: round)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: home.appendingPathComponent("tmp").path), [],
                           "round \(round): temp files survived a restart")

            // Four uploads at once; the kill lands while they run.
            let uploads = packages.map { p in
                Task { try await client.upload(directory: p.directory, model: "k", aliases: round % 3 == 0 ? ["production"] : []).version }
            }
            if round % 4 == 0 {
                // Some rounds let the smallest upload be acknowledged before the kill.
                _ = await uploads[0].result
            } else {
                // The others kill while bytes are arriving: once a temp file exists, a little later.
                let temp = home.appendingPathComponent("tmp").path
                try await waitUntil(timeout: .seconds(10)) { !((try? FileManager.default.contentsOfDirectory(atPath: temp)) ?? []).isEmpty }
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...40)))
            }
            server.kill()
            var failed = 0
            for u in uploads {
                switch await u.result {
                case .success(let v): acknowledged.insert(v)
                case .failure: failed += 1
                }
            }
            if failed > 0 { killsDuringUploads += 1 }
        }
        XCTAssertGreaterThanOrEqual(killsDuringUploads, 10, "most kills should land during an upload")
        XCTAssertFalse(acknowledged.isEmpty, "some uploads should finish before a kill")
        let server = try RegistryProcess(home: home)
        try await server.start()
        let client = try RegistryClient(address: "127.0.0.1:\(server.port)", environment: [:])
        try await checkStore(client, acknowledged: acknowledged, round: 20)
        // Blobs of uploads cut short are garbage; collecting them leaves every version whole.
        _ = try await client.garbageCollect()
        try await checkStore(client, acknowledged: acknowledged, round: 21)
        server.kill(SIGTERM)
        XCTAssertEqual(server.process.terminationStatus, 0, server.log)
    }

    private func checkStore(_ client: RegistryClient, acknowledged: Set<Int32>, round: Int) async throws {
        let versions = (try? await client.listVersions("k")) ?? []
        let numbers = versions.map(\.version)
        if let last = numbers.last {
            XCTAssertEqual(numbers, Array(1...last), "round \(round): version numbers have a gap")
        }
        XCTAssertTrue(acknowledged.isSubset(of: Set(numbers)), "round \(round): an acknowledged version is gone")
        for version in versions {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("kill-dl-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: out) }
            try await client.download(Visionfleet_V1_ModelRef.with { $0.name = "k"; $0.version = version.version }, to: out)
            let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("manifest.json"))) as? [String: Any]
            let files = try XCTUnwrap(manifest?["files"] as? [String: String])
            XCTAssertEqual(Set(version.files.map(\.path)), Set(files.keys).union(["manifest.json"]), "round \(round): half a version")
            for (path, digest) in files {
                XCTAssertEqual(version.files.first { $0.path == path }?.digest, digest)
            }
        }
    }

    /// SIGTERM with a watcher connected: the event stream ends at once, the process exits 0
    /// well inside its 10 s grace period, and health says NOT_SERVING meanwhile.
    func testSIGTERMEndsWatchStreamsAndExitsPromptly() async throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: RegistryProcess.executable), "vf-registry not built")
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("vf-registry-term-\(UUID().uuidString)")
        let server = try RegistryProcess(home: home, grace: 10)
        try await server.start()
        let client = try RegistryClient(address: "127.0.0.1:\(server.port)", environment: [:])
        _ = try await client.createModel("t", task: .classification)
        let health = try await HealthProbe.check(client.rpc, service: "visionfleet.v1.RegistryService")
        XCTAssertEqual(health, .serving)
        let watcher = Task { () -> Int in
            var seen = 0
            try await client.watch(from: 0) { _ in seen += 1; return true }
            return seen
        }
        try await Task.sleep(for: .milliseconds(300))
        let clock = ContinuousClock()
        let start = clock.now
        server.kill(SIGTERM)
        XCTAssertLessThan(clock.now - start, .seconds(5), "shutdown waited for the watcher")
        XCTAssertEqual(server.process.terminationStatus, 0, server.log)
        let seen = try await watcher.value
        XCTAssertEqual(seen, 1, "the replayed event, then a clean end of stream")
    }
}
