import FleetProtos
import FleetRPC
import Foundation
import ServiceRuntime
import TestSupport
import VisionData
import XCTest

/// SIGKILL on the real vf-ingest while imports run: after each restart the dataset's versions
/// are exactly the acknowledged ones, each whole (its items stream with verified bytes), and no
/// staging folder survives.
final class IngestCrashTests: XCTestCase {
    func testSIGKILLDuringImportsShowsNothingHalfImported() async throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: ServerProcess.path("vf-ingest")), "vf-ingest not built")
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("vf-ingest-kill-\(UUID().uuidString)")
        let sources = try (0..<3).map { try Fixtures.shapes(.coco, count: 40, seed: UInt64(50 + $0)).0 }
        var acknowledged: [Int32: String] = [:]  // version → digest
        for round in 0..<10 {
            let server = try ServerProcess("vf-ingest", home: home)
            try await server.start()
            let client = try DatasetClient(address: "127.0.0.1:\(server.port)", environment: [:])
            try await check(client, acknowledged, round: round)
            XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: home.appendingPathComponent("staging").path)) ?? [], [],
                           "round \(round): staging survived")
            let source = sources[round % sources.count]
            let importTask = Task { try await client.importDataset(path: source, name: "k", format: .coco) }
            if round % 3 == 0 {
                if case .success(let r) = await importTask.result { acknowledged[r.version.version] = r.version.manifestDigest }
            } else {
                try await Task.sleep(for: .milliseconds(Int.random(in: 5...80)))
            }
            server.kill()
            if case .success(let r) = await importTask.result { acknowledged[r.version.version] = r.version.manifestDigest }
        }
        XCTAssertFalse(acknowledged.isEmpty)
        let server = try ServerProcess("vf-ingest", home: home)
        try await server.start()
        try await check(try DatasetClient(address: "127.0.0.1:\(server.port)", environment: [:]), acknowledged, round: 10)
        server.kill(SIGTERM)
        XCTAssertEqual(server.process.terminationStatus, 0, server.log)
    }

    /// A client whose writes wait for queue space when the server dies gets UNAVAILABLE, not a hang.
    func testImportClientFailsWhenTheServerDiesMidStream() async throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: ServerProcess.path("vf-ingest")), "vf-ingest not built")
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("vf-ingest-cut-\(UUID().uuidString)")
        let source = Fixtures.temp("big")
        try FileManager.default.createDirectory(at: source.appendingPathComponent("a"), withIntermediateDirectories: true)
        // 24 files of 2 MiB (PNG signature, then noise): many 1 MiB chunks, more than the write queue holds.
        for i in 0..<24 {
            var data = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            data.append(Data((0..<(2 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 &+ i) }))
            try data.write(to: source.appendingPathComponent("a/\(i).png"))
        }
        for _ in 0..<3 {
            let server = try ServerProcess("vf-ingest", home: home)
            try await server.start()
            let client = try DatasetClient(address: "127.0.0.1:\(server.port)", environment: [:])
            let started = ContinuousClock.now
            let importTask = Task { try await client.importDataset(path: source, name: "cut", format: .imageFolder) }
            // Killed once the first file is arriving (a blob temp file exists): most of the upload is still queued.
            let temp = home.appendingPathComponent("tmp").path
            for _ in 0..<2000 where ((try? FileManager.default.contentsOfDirectory(atPath: temp)) ?? []).isEmpty {
                try await Task.sleep(for: .milliseconds(2))
            }
            server.kill()
            switch await importTask.result {
            case .success: XCTFail("the import cannot succeed: the server was killed")
            case .failure(let error):
                XCTAssertTrue([.unavailable, .internal, .cancelled, .unknown].contains((error as? RPCError)?.code), "\(error)")
            }
            XCTAssertLessThan(ContinuousClock.now - started, .seconds(30), "the client must not wait forever")
        }
    }

    private func check(_ client: DatasetClient, _ acknowledged: [Int32: String], round: Int) async throws {
        let versions = (try? await client.versions("k")) ?? []
        for (number, digest) in acknowledged {
            XCTAssertEqual(versions.first { $0.version == number }?.manifestDigest, digest, "round \(round): acknowledged version \(number)")
        }
        if let last = versions.last { XCTAssertEqual(versions.map(\.version), Array(1...last.version), "round \(round): gap") }
        for v in versions {
            var count: Int64 = 0
            try await client.streamSamples(.with { $0.name = "k"; $0.version = v.version }) { batch in
                count += Int64(batch.samples.count)
                return true
            }
            XCTAssertEqual(count, v.imageCount, "round \(round): version \(v.version) is not whole")
        }
    }
}
