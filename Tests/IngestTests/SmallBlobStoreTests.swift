import FleetProtos
import FleetRPC
import FleetStore
import Foundation
import GRDB
@testable import IngestService
import ServiceRuntime
import VisionData
import XCTest

/// Small blobs as rows of `blobs/small.sqlite`: every read path finds them, duplicates are
/// stored once, they survive a reopen, garbage collection removes only unreferenced unpinned
/// rows, and a corrupted row is an integrity error (DATA_LOSS over the RPC), never bad bytes.
final class SmallBlobStoreTests: XCTestCase {
    func testSmallBlobsLiveInTheTableAndEveryReadFindsThem() throws {
        let root = Fixtures.temp("blobs")
        defer { try? FileManager.default.removeItem(at: root) }
        var store = try LocalBlobStore(root: root)
        let small = (0..<3).map { Data("image \($0) ".utf8 + [UInt8](repeating: UInt8($0), count: 300)) }
        let large = Data((0..<(200 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let first = try store.storeAll(small + [large])
        XCTAssertEqual(first.map(\.deduplicated), [false, false, false, false])
        store.unpin(first.map(\.digest))
        // Only the large one is a file; the small ones are rows.
        let files = try FolderWalker.files(under: root.appendingPathComponent("blobs/sha256").path)
        XCTAssertEqual(files.map(\.size), [Int64(large.count)])

        store = try LocalBlobStore(root: root)  // a restarted process
        XCTAssertEqual(try store.readAll(first.map(\.digest)), small + [large])
        for (blob, data) in zip(first, small + [large]) {
            XCTAssertTrue(store.contains(blob.digest))
            XCTAssertEqual(try store.size(of: blob.digest), Int64(data.count))
            XCTAssertEqual(try store.readWhole(blob.digest), data)
            let copy = root.appendingPathComponent("copy-\(blob.digest.hex)")
            try store.materialize(blob.digest, at: copy)
            XCTAssertEqual(try Data(contentsOf: copy), data)
        }
        let again = try store.storeAll([small[1], Data("new".utf8)])
        XCTAssertEqual(again.map(\.deduplicated), [true, false])
        XCTAssertEqual(Set(try store.list().map(\.digest)), Set(first.map(\.digest) + [again[1].digest]))

        store.unpin([again[0].digest])
        // Referenced: small[0]; pinned: "new"; everything else goes.
        let report = try store.collectGarbage(dryRun: false) { [first[0].digest] }
        XCTAssertEqual(report.blobsRemoved, 3)
        XCTAssertEqual(report.blobsKept, 2)
        XCTAssertTrue(store.contains(first[0].digest))
        XCTAssertTrue(store.contains(again[1].digest))
        for gone in first.dropFirst() {
            XCTAssertFalse(store.contains(gone.digest))
            XCTAssertThrowsError(try store.readWhole(gone.digest)) { XCTAssertEqual($0 as? StoreError, .blobNotFound(gone.digest.description)) }
        }
    }

    /// The table's log is not checkpointed by the commits of an import-sized write (SQLite's
    /// default would copy and sync it every 64 MiB, mid-import); `checkpoint()` moves it into
    /// the table's file, and every row reads the same before, after and across a reopen.
    func testTheLogIsCheckpointedOnRequestNotByEachLargeWrite() throws {
        let root = Fixtures.temp("blobs-checkpoint")
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try LocalBlobStore(root: root)
        let table = root.appendingPathComponent("blobs/small.sqlite").path
        func size(_ path: String) -> Int64 { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0 }
        // 1,200 rows of 40 KiB, a 64 KiB page each: past SQLite's default threshold of 1,000 pages.
        var stored: [CommittedBlob] = [], blobs: [Data] = []
        for batch in 0..<12 {
            let data = (0..<100).map { i in
                var blob = Data(repeating: UInt8(truncatingIfNeeded: i), count: 40 << 10)
                withUnsafeBytes(of: Int64(batch * 100 + i)) { blob.replaceSubrange(0..<8, with: $0) }  // each one distinct
                return blob
            }
            blobs += data
            stored += try store.storeAll(data, digests: data.map { SHA256Stream.digest(of: $0) }, synced: false)
        }
        try store.flush()
        let before = size(table)
        XCTAssertGreaterThan(size(table + "-wal"), Int64(1000 * (64 << 10)), "the log holds the rows")
        XCTAssertLessThan(before, Int64(100 * (64 << 10)), "no checkpoint ran while they were written")
        XCTAssertEqual(try store.readAll(stored.map(\.digest)), blobs)
        try store.checkpoint()
        XCTAssertGreaterThan(size(table), Int64(1000 * (64 << 10)), "checkpointed into the table's file")
        XCTAssertEqual(try store.readAll(stored.map(\.digest)), blobs)
        store.unpin(stored.map(\.digest))
        XCTAssertEqual(try LocalBlobStore(root: root).readAll(stored.map(\.digest)), blobs)
    }

    /// A store written before the key became the digest's 32 bytes (64 hex digits as text)
    /// opens with every row readable under its digest, and takes new rows.
    func testATableKeyedByHexTextIsMigrated() throws {
        let root = Fixtures.temp("blobs-v1")
        defer { try? FileManager.default.removeItem(at: root) }
        let old = (0..<3).map { Data("old image \($0) ".utf8 + [UInt8](repeating: UInt8($0), count: 200)) }
        let digests = old.map { SHA256Stream.digest(of: $0) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("blobs"), withIntermediateDirectories: true)
        do {
            // What the earlier release created: its one migration, its page size, hex keys.
            var config = Configuration()
            config.prepareDatabase { db in try db.execute(sql: "PRAGMA page_size = 65536") }
            let queue = try DatabaseQueue(path: root.appendingPathComponent("blobs/small.sqlite").path, configuration: config)
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1") { db in try db.execute(sql: "CREATE TABLE blob (digest TEXT PRIMARY KEY, data BLOB NOT NULL)") }
            try migrator.migrate(queue)
            try queue.write { db in
                for (digest, data) in zip(digests, old) {
                    try db.execute(sql: "INSERT INTO blob (digest, data) VALUES (?, ?)", arguments: [digest.hex, data])
                }
            }
        }
        let store = try LocalBlobStore(root: root)
        XCTAssertEqual(try store.readAll(digests), old)
        XCTAssertEqual(Set(try store.list().map(\.digest)), Set(digests))
        let again = try store.storeAll([old[2], Data("new".utf8)])
        XCTAssertEqual(again.map(\.deduplicated), [true, false])
        XCTAssertEqual(try store.readWhole(again[1].digest), Data("new".utf8))
        let keys = try DatabaseQueue(path: root.appendingPathComponent("blobs/small.sqlite").path).read { db in
            try Data.fetchAll(db, sql: "SELECT digest FROM blob ORDER BY rowid")
        }
        XCTAssertEqual(keys, (digests + [again[1].digest]).map { Data($0.bytes) })
    }

    func testACorruptedRowIsAnIntegrityErrorAndDataLossOverTheRPC() async throws {
        let h = try await IngestHarness.start()
        let (url, _) = try Fixtures.classes(.imagefolder, perClass: 2)
        let imported = try await h.client.importDataset(path: url, name: "rows", format: .imageFolder, task: .classification)
        let ref = Visionfleet_V1_DatasetRef.with { $0.name = "rows"; $0.version = imported.version.version }
        var digests: [String] = []
        try await h.client.streamSamples(ref) { batch in
            digests += batch.samples.map(\.item.blobDigest)
            return true
        }
        XCTAssertEqual(digests.count, 6)
        let victim = try BlobDigest(parsing: digests[0])
        let table = try DatabaseQueue(path: h.home.appendingPathComponent("blobs/small.sqlite").path)
        try await table.write { db in
            try db.execute(sql: "UPDATE blob SET data = ? WHERE digest = ?", arguments: [Data("not the image".utf8), Data(victim.bytes)])
        }
        XCTAssertThrowsError(try h.ingest.blobs.readWhole(victim)) {
            guard case .integrity? = $0 as? StoreError else { return XCTFail("\($0)") }
        }
        do {
            try await h.client.streamSamples(ref) { _ in true }
            XCTFail("a corrupted image was streamed")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .dataLoss, error.message)
        }
        await h.stop()
    }
}

/// The upload as a reader sees it: held images under their paths, folders above them, the
/// staging folder's own files merged in, paths with `.` and `..` segments resolved.
final class UploadFileViewTests: XCTestCase {
    func testHeldImagesAppearBesideTheFilesOnDisk() throws {
        let root = Fixtures.temp("view")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("labels"), withIntermediateDirectories: true)
        try Data("names: [a]".utf8).write(to: root.appendingPathComponent("data.yaml"))
        try Data("0 0.5 0.5 0.1 0.1".utf8).write(to: root.appendingPathComponent("labels/x.txt"))
        let view = UploadFileView(root: root.path, images: ["images/train/x.png", "images/train/y.png", "images/val/z.png", "top.jpg"])
        let r = root.path
        XCTAssertEqual(view.kind(atPath: r), .folder)
        XCTAssertEqual(view.kind(atPath: r + "/images"), .folder)
        XCTAssertEqual(view.kind(atPath: r + "/images/train/"), .folder)
        XCTAssertEqual(view.kind(atPath: r + "/images/train/x.png"), .file)
        XCTAssertEqual(view.kind(atPath: r + "/./images/../images/val/z.png"), .file)
        XCTAssertEqual(view.kind(atPath: r + "/labels/x.txt"), .file)
        XCTAssertNil(view.kind(atPath: r + "/images/train/w.png"))
        XCTAssertEqual(Set(view.contentsOfDirectory(atPath: r) ?? []), ["images", "top.jpg", "data.yaml", "labels"])
        XCTAssertEqual(Set(view.files(under: r)), ["images/train/x.png", "images/train/y.png", "images/val/z.png", "top.jpg", "data.yaml", "labels/x.txt"])
        XCTAssertNil(view.contentsOfDirectory(atPath: r + "/nowhere"))
    }
}
