import FleetProtos
import FleetStore
import Foundation
import GRDB
@testable import IngestService
import XCTest

/// A version's items as pages: every split and offset reads back what a plain filtered list
/// holds, across page boundaries; garbage collection sees every digest; deleting the dataset
/// removes its pages; a catalog written with one row per item migrates to pages unchanged.
final class ItemPagesTests: XCTestCase {
    private func makeItems(_ count: Int, seed: UInt64) -> [Visionfleet_V1_DatasetItem] {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        return (0..<count).map { i in
            .with {
                $0.imageID = "\(i)"
                $0.fileName = "img\(i).png"
                $0.blobDigest = BlobDigest(bytes: (0..<32).map { k in UInt8(truncatingIfNeeded: i &* 7 &+ k &* 13 &+ Int(next() & 1)) }).description
                $0.split = [.train, .train, .train, .val, .test][Int(next() % 5)]
                $0.classID = Int32(i % 10)
                $0.width = 28
                $0.height = 28
            }
        }
    }

    private func version(_ dataset: String, digest: String) -> Visionfleet_V1_DatasetVersion {
        .with { $0.dataset = dataset; $0.manifestDigest = digest }
    }

    private func checkEveryRead(_ catalog: SQLiteDatasetCatalog, ref: Visionfleet_V1_DatasetRef, items: [Visionfleet_V1_DatasetItem],
                                file: StaticString = #filePath, line: UInt = #line) throws {
        for split in [Visionfleet_V1_Split.unspecified, .train, .val, .test] {
            let expected = items.filter { split == .unspecified || $0.split == split }
            for (offset, limit) in [(0, 10_000), (0, 1), (1023, 3), (1024, 1024), (1500, 700), (expected.count - 1, 5), (expected.count, 5), (0, 0)] {
                let got = try catalog.items(ref, split: split, offset: Int64(offset), limit: limit)
                let want = Array(expected.dropFirst(offset).prefix(limit))
                XCTAssertEqual(got.map(\.item), want, "split \(split), offset \(offset), limit \(limit)", file: file, line: line)
                XCTAssertEqual(got.map(\.index), (0..<want.count).map { Int64(offset + $0) }, file: file, line: line)
            }
        }
    }

    func testEverySplitAndOffsetReadsWhatAPlainListHolds() throws {
        let root = Fixtures.temp("pages")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let catalog = try SQLiteDatasetCatalog(path: root.appendingPathComponent("ingest.sqlite").path)
        let first = makeItems(2_600, seed: 1)
        let second = makeItems(40, seed: 2)
        let (v1, _) = try catalog.commitVersion(version("pages", digest: "a"), items: first, createTask: .classification, description: "", actor: "t", now: Date())
        let (v2, _) = try catalog.commitVersion(version("pages", digest: "b"), items: second, createTask: .classification, description: "", actor: "t", now: Date())
        try checkEveryRead(catalog, ref: .with { $0.name = "pages"; $0.version = v1.version }, items: first)
        try checkEveryRead(catalog, ref: .with { $0.name = "pages"; $0.version = v2.version }, items: second)
        XCTAssertEqual(try catalog.referencedDigests(), Set(try (first + second).map { try BlobDigest(parsing: $0.blobDigest) }))

        try catalog.deleteDataset(named: "pages")
        XCTAssertEqual(try catalog.referencedDigests(), [])
        let rows = try DatabaseQueue(path: root.appendingPathComponent("ingest.sqlite").path).read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM item_page")
        }
        XCTAssertEqual(rows, 0)
    }

    /// A version's pages past SQLite's default 1,000-page log stay in the log at commit (no
    /// checkpoint on the reply's path); `checkpoint()` moves them into the file; reads agree
    /// before, after and across a reopen.
    func testALargeCommitIsCheckpointedOnRequest() throws {
        let root = Fixtures.temp("pages-checkpoint")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let path = root.appendingPathComponent("ingest.sqlite").path
        func size(_ path: String) -> Int64 { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0 }
        let catalog = try SQLiteDatasetCatalog(path: path)
        let items = makeItems(60_000, seed: 3)  // ~6 MiB of records: 1,500 pages of 4 KiB
        let (v1, _) = try catalog.commitVersion(version("big", digest: "a"), items: items, createTask: .classification, description: "", actor: "t", now: Date())
        let ref = Visionfleet_V1_DatasetRef.with { $0.name = "big"; $0.version = v1.version }
        XCTAssertGreaterThan(size(path + "-wal"), Int64(1000 * 4096), "the commit's pages are in the log")
        XCTAssertLessThan(size(path), Int64(1000 * 4096), "no checkpoint ran at commit")
        XCTAssertEqual(try catalog.items(ref, split: .unspecified, offset: 0, limit: 100_000).map(\.item), items)
        try catalog.checkpoint()
        XCTAssertGreaterThan(size(path), Int64(1000 * 4096), "checkpointed into the database file")
        XCTAssertEqual(try catalog.items(ref, split: .unspecified, offset: 59_990, limit: 100).map(\.item), Array(items.suffix(10)))
        XCTAssertEqual(try SQLiteDatasetCatalog(path: path).items(ref, split: .val, offset: 0, limit: 100_000).map(\.item),
                       items.filter { $0.split == .val })
    }

    func testACatalogWithARowPerItemMigratesToPages() throws {
        let root = Fixtures.temp("pages-migrate")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let path = root.appendingPathComponent("ingest.sqlite").path
        let items = makeItems(1_100, seed: 3)
        do {
            // The schema before pages, filled the way its catalog wrote items: one row each.
            let queue = try DatabaseQueue(path: path)
            try SQLiteDatasetCatalog.migrator.migrate(queue, upTo: "v3-items-without-rowid")
            try queue.write { db in
                let dataset = Visionfleet_V1_Dataset.with { $0.name = "old"; $0.task = .classification }
                try db.execute(sql: "INSERT INTO dataset (name, task, last_version, record) VALUES ('old', 1, 1, ?)", arguments: [try dataset.serializedData()])
                let record = try Visionfleet_V1_DatasetVersion.with { $0.dataset = "old"; $0.version = 1; $0.manifestDigest = "m" }.serializedData()
                try db.execute(sql: "INSERT INTO version (dataset, version, digest, record) VALUES ('old', 1, 'm', ?)", arguments: [record])
                for (position, item) in items.enumerated() {
                    try db.execute(sql: "INSERT INTO item (dataset, version, position, split, digest, record) VALUES ('old', 1, ?, ?, ?, ?)",
                                   arguments: [position, item.split.rawValue, item.blobDigest, try item.serializedData()])
                }
            }
        }
        let catalog = try SQLiteDatasetCatalog(path: path)
        try checkEveryRead(catalog, ref: .with { $0.name = "old"; $0.version = 1 }, items: items)
        XCTAssertEqual(try catalog.referencedDigests(), Set(try items.map { try BlobDigest(parsing: $0.blobDigest) }))
        let tables = try DatabaseQueue(path: path).read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'") }
        XCTAssertFalse(tables.contains("item"), "the per-item table is gone: \(tables)")
    }
}
