import FleetProtos
import FleetRPC
import FleetStore
import Foundation
import RegistryService
import ServiceRuntime
import TestSupport
import XCTest

/// UploadVersion and DownloadVersion: big packages, racing uploads, every kind of bad stream,
/// interrupted uploads, corrupted blobs and garbage collection.
final class RegistryUploadTests: XCTestCase {
    typealias Request = Visionfleet_V1_UploadVersionRequest

    /// Sends `messages` as one UploadVersion stream.
    func rawUpload(_ h: RegistryHarness, _ messages: [Request]) async throws -> Visionfleet_V1_ModelVersion {
        try await h.client.rpc.clientStreaming(ServiceCatalog.RegistryService.uploadVersion.path) { (writer: ClientRequestWriter<Request>) in
            for m in messages { try await writer.write(m) }
        }.message
    }

    func header(_ package: TestPackage, model: String = "m") -> Request {
        .with { $0.header = .with { $0.model = model; $0.manifestJson = package.manifest } }
    }

    func chunk(_ path: String, _ data: Data, offset: Int64 = 0, last: Bool = true, digest: String? = nil) -> Request {
        .with {
            $0.chunk = .with {
                $0.path = path; $0.data = data; $0.offset = offset; $0.last = last
                if last { $0.digest = digest ?? SHA256Stream.digest(of: data).description }
            }
        }
    }

    func testFiftyMiBRoundTrip() async throws {
        let h = try await RegistryHarness.start()
        let package = try TestPackage.make(weightsBytes: 50 << 20, seed: 5)
        let uploaded = try await h.client.upload(directory: package.directory, model: "big", aliases: ["production"])
        XCTAssertEqual(uploaded.files.first { $0.path == "weights.safetensors" }?.size, 50 << 20)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("dl-\(UUID().uuidString)")
        let downloaded = try await h.client.download(ref("big", alias: "production"), to: out)
        XCTAssertEqual(downloaded.version, 1)
        let weights = try Data(contentsOf: out.appendingPathComponent("weights.safetensors"))
        XCTAssertEqual(weights, package.files["weights.safetensors"])
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("manifest.json"), encoding: .utf8), package.manifest)
        // Chunks are 1 MiB, each file's digest on its last chunk only.
        var chunks: [Visionfleet_V1_FileChunk] = []
        try await h.client.rpc.serverStreaming(ServiceCatalog.RegistryService.downloadVersion.path,
                                               Visionfleet_V1_DownloadVersionRequest.with { $0.ref = ref("big", 1); $0.paths = ["weights.safetensors"] },
                                               as: Visionfleet_V1_FileChunk.self) { stream in
            for try await c in stream { chunks.append(Visionfleet_V1_FileChunk.with { $0.path = c.path; $0.offset = c.offset; $0.last = c.last; $0.digest = c.digest; $0.totalSize = Int64(c.data.count) }) }
        }
        XCTAssertEqual(chunks.count, 50)
        XCTAssertTrue(chunks.dropLast().allSatisfy { $0.totalSize == 1 << 20 && !$0.last && $0.digest.isEmpty })
        XCTAssertEqual(chunks.last?.digest, uploaded.files.first { $0.path == "weights.safetensors" }?.digest)
        XCTAssertEqual(chunks.map(\.offset), (0..<50).map { Int64($0) << 20 })
        await assertRPCError(.notFound) { try await h.client.download(ref("big", 1), to: out, paths: ["nope.bin"]) }
        await h.stop()
    }

    func testEightConcurrentUploadsGetDenseVersions() async throws {
        let h = try await RegistryHarness.start()
        let packages = try (0..<8).map { try TestPackage.make(weightsBytes: 256 << 10, seed: UInt64(10 + $0)) }
        let versions = try await withThrowingTaskGroup(of: Int32.self) { group in
            for p in packages { group.addTask { try await h.client.upload(directory: p.directory, model: "race").version } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        XCTAssertEqual(versions.sorted(), Array(1...8))
        let listed = try await h.client.listVersions("race")
        XCTAssertEqual(listed.map(\.version), Array(1...8))
        // Each version holds the bytes its own upload sent.
        let digests = Set(listed.compactMap { $0.files.first { $0.path == "weights.safetensors" }?.digest })
        XCTAssertEqual(digests.count, 8)
        await h.stop()
    }

    func testBadUploadsAreRefusedAndLeaveNothing() async throws {
        let h = try await RegistryHarness.start(maxUploadBytes: 1 << 20)
        let package = try TestPackage.make(weightsBytes: 3000)
        let weights = package.files["weights.safetensors"]!
        let w = "weights.safetensors"
        struct Case { let name: String; let code: RPCError.Code; let field: String?; let messages: [Request] }
        var badManifest = header(package)
        badManifest.header.manifestJson = "{not json"
        var noFiles = header(package)
        noFiles.header.manifestJson = #"{"formatVersion": 1, "task": "classification", "files": {}}"#
        var badTask = header(package)
        badTask.header.task = .detection
        let half = weights.count / 2
        let cases: [Case] = [
            Case(name: "manifest that does not parse", code: .invalidArgument, field: "header.manifest_json", messages: [badManifest]),
            Case(name: "manifest naming no file", code: .invalidArgument, field: "files", messages: [noFiles]),
            Case(name: "header task against the manifest", code: .invalidArgument, field: "task", messages: [badTask]),
            Case(name: "chunk before the header", code: .invalidArgument, field: "header", messages: [chunk(w, weights)]),
            Case(name: "missing file", code: .invalidArgument, field: "files", messages: [header(package)]),
            Case(name: "file the manifest does not name", code: .invalidArgument, field: "chunk.path",
                 messages: [header(package), chunk("extra.bin", Data([1, 2, 3]))]),
            Case(name: "digest mismatch with the bytes", code: .invalidArgument, field: "chunk.digest",
                 messages: [header(package), chunk(w, weights, digest: "sha256:" + String(repeating: "a", count: 64))]),
            Case(name: "bytes differ from the manifest", code: .invalidArgument, field: "digest",
                 messages: [header(package), chunk(w, Data(weights.reversed()))]),
            Case(name: "stream ends inside a file", code: .invalidArgument, field: "chunk.last",
                 messages: [header(package), chunk(w, weights.prefix(half), last: false)]),
            Case(name: "chunk at the wrong offset", code: .invalidArgument, field: "chunk.offset",
                 messages: [header(package), chunk(w, weights.prefix(half), last: false), chunk("", weights.suffix(from: half), offset: 7)]),
            Case(name: "file sent twice", code: .invalidArgument, field: "chunk.path",
                 messages: [header(package), chunk(w, weights), chunk(w, weights)]),
            Case(name: "over the size limit", code: .resourceExhausted, field: nil,
                 messages: [header(package), chunk(w, Data(count: 600 << 10), last: false), chunk("", Data(count: 600 << 10), offset: 600 << 10, last: false)]),
            Case(name: "bad model name", code: .invalidArgument, field: "header.model", messages: [header(package, model: "../etc")]),
        ]
        for c in cases {
            let error = await assertRPCError(c.code) { try await self.rawUpload(h, c.messages) }
            if let field = c.field, let error {
                XCTAssertEqual(error.metadata["vf-field"], field, "\(c.name): \(error.message)")
            }
        }
        let models = try await h.client.listModels()
        XCTAssertEqual(models.count, 0, "no refused upload created a model")
        try await waitUntil { h.tempFiles.isEmpty }
        XCTAssertEqual(h.blobFiles.count, 0, "no refused upload stored a blob")
        // A good upload still works afterwards, and its chunk-split form too.
        let ok = try await rawUpload(h, [header(package), chunk(w, weights.prefix(half), last: false),
                                         chunk("", weights.suffix(from: half), offset: Int64(half), digest: SHA256Stream.digest(of: weights).description)])
        XCTAssertEqual(ok.version, 1)
        await h.stop()
    }

    func testInterruptedUploadLeavesNoTrace() async throws {
        let h = try await RegistryHarness.start()
        let package = try TestPackage.make(weightsBytes: 8 << 20)
        let weights = package.files["weights.safetensors"]!
        struct Cut: Error {}
        let messages = [header(package)] + (0..<4).map { i in
            chunk("weights.safetensors", weights.subdata(in: (i << 20)..<((i + 1) << 20)), offset: Int64(i) << 20, last: false)
        }
        let task = Task {
            try await h.client.rpc.clientStreaming(ServiceCatalog.RegistryService.uploadVersion.path) { (writer: ClientRequestWriter<Request>) in
                for m in messages { try await writer.write(m) }
                throw Cut()  // the client goes away midway: the call is cancelled
            } as ClientResponse<Visionfleet_V1_ModelVersion>
        }
        _ = try? await task.value
        try await waitUntil { h.tempFiles.isEmpty }
        let models = try await h.client.listModels()
        XCTAssertTrue(models.isEmpty)
        let report = try await h.client.garbageCollect()
        XCTAssertEqual(report.blobsRemoved, 0)
        XCTAssertEqual(h.blobFiles.count, 0)
        await h.stop()
    }

    func testCorruptedBlobAnswersDataLossAndIsNeverStreamed() async throws {
        let h = try await RegistryHarness.start()
        let package = try TestPackage.make(weightsBytes: 3 << 20)
        let version = try await h.client.upload(directory: package.directory, model: "c")
        let digest = try XCTUnwrap(version.files.first { $0.path == "weights.safetensors" }?.digest)
        let hex = String(digest.dropFirst(7))
        let file = try XCTUnwrap(h.blobFiles.first { $0.lastPathComponent == hex })
        let handle = try FileHandle(forUpdating: file)
        try handle.seek(toOffset: 2 << 20)
        try handle.write(contentsOf: Data([0xFF, 0x00, 0xFF]))
        try handle.close()
        var received = 0
        let error = await assertRPCError(.dataLoss) {
            try await h.client.rpc.serverStreaming(ServiceCatalog.RegistryService.downloadVersion.path,
                                                   Visionfleet_V1_DownloadVersionRequest.with { $0.ref = ref("c", 1) },
                                                   as: Visionfleet_V1_FileChunk.self) { stream in
                for try await _ in stream { received += 1 }
            }
        }
        XCTAssertTrue(error?.message.contains(digest) == true, error?.message ?? "")
        XCTAssertTrue(error?.message.contains("weights.safetensors") == true, error?.message ?? "")
        XCTAssertEqual(received, 0, "nothing of a corrupted version is streamed")
        // The manifest alone still downloads.
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("dl-\(UUID().uuidString)")
        try await h.client.download(ref("c", 1), to: out, paths: ["manifest.json"])
        await h.stop()
    }

    func testGarbageCollectRemovesOnlyUnreferencedBlobs() async throws {
        let h = try await RegistryHarness.start()
        let shared = try TestPackage.make(weightsBytes: 100_000, seed: 1)
        _ = try await h.client.upload(directory: shared.directory, model: "g")
        _ = try await h.client.upload(directory: shared.directory, model: "g")  // same bytes: stored once
        let unique = try TestPackage.make(weightsBytes: 70_000, seed: 2)
        _ = try await h.client.upload(directory: unique.directory, model: "g")
        XCTAssertEqual(h.blobFiles.count, 4, "the repeated package is stored once: two manifests, two weights")
        var nothing = try await h.client.garbageCollect()
        XCTAssertEqual(nothing.blobsRemoved, 0)
        try await h.client.deleteVersion(ref("g", 3))
        let dry = try await h.client.garbageCollect(dryRun: true)
        XCTAssertEqual(dry.blobsRemoved, 2)
        XCTAssertEqual(h.blobFiles.count, 4, "a dry run removes nothing")
        let report = try await h.client.garbageCollect()
        XCTAssertEqual(report.blobsRemoved, 2)
        XCTAssertEqual(report.bytesFreed, Int64(70_000 + unique.manifest.utf8.count))
        XCTAssertEqual(report.blobsKept, 2)
        nothing = try await h.client.garbageCollect()
        XCTAssertEqual(nothing.blobsRemoved, 0)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("dl-\(UUID().uuidString)")
        try await h.client.download(ref("g", 2), to: out)
        await h.stop()
    }

    /// Uploads racing a garbage collection loop: no committed version ever loses a blob.
    func testGarbageCollectionDuringUploadsKeepsEveryVersionWhole() async throws {
        let h = try await RegistryHarness.start()
        let packages = try (0..<6).map { try TestPackage.make(weightsBytes: 2 << 20, seed: UInt64(40 + $0)) }
        let collector = Task {
            while !Task.isCancelled { _ = try? await h.client.garbageCollect() }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for p in packages { group.addTask { _ = try await h.client.upload(directory: p.directory, model: "gc-race") } }
            try await group.waitForAll()
        }
        collector.cancel()
        for version in try await h.client.listVersions("gc-race") {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("dl-\(UUID().uuidString)")
            try await h.client.download(ref("gc-race", version.version), to: out)
        }
        await h.stop()
    }
}

func waitUntil(timeout: Duration = .seconds(10), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { XCTFail("condition not met in \(timeout)"); return }
        try await Task.sleep(for: .milliseconds(20))
    }
}
