import FleetProtos
import FleetStore
import Foundation
import GRDB

/// A version's items stored as pages of up to `pageSize`: one row per page holding the items'
/// records framed back to back (split byte, little-endian 32-bit length, protobuf record), the
/// raw digests of their blobs (garbage collection's reference list) and, per split, how many
/// items of that split come before the page and within it — so a split's offset finds its page
/// without decoding earlier ones. A 70,000-item version is 69 rows, not 70,000.
enum ItemPages {
    static let pageSize = 1024
    /// The splits counted per page, with their column prefixes.
    static let splitColumns: [(split: Visionfleet_V1_Split, column: String)] = [(.train, "train"), (.val, "val"), (.test, "test")]

    static let createTable = """
        CREATE TABLE item_page (
            dataset TEXT NOT NULL,
            version INTEGER NOT NULL,
            page INTEGER NOT NULL,
            first_position INTEGER NOT NULL,
            count INTEGER NOT NULL,
            train_before INTEGER NOT NULL, train_count INTEGER NOT NULL,
            val_before INTEGER NOT NULL, val_count INTEGER NOT NULL,
            test_before INTEGER NOT NULL, test_count INTEGER NOT NULL,
            digests BLOB NOT NULL,
            records BLOB NOT NULL,
            PRIMARY KEY (dataset, version, page),
            FOREIGN KEY (dataset, version) REFERENCES version(dataset, version) ON DELETE CASCADE)
        """

    /// One page ready to insert: its items' place, per-split counts, digests and framed records.
    struct Page: Sendable {
        var range: Range<Int>
        var counts: [Int]
        var digests: Data
        var frames: Data
    }

    /// The pages of a version's items, made on every core (a page per task): independent of
    /// the version's number, so made before the catalog's transaction, beside other work.
    static func prepare(_ items: [Visionfleet_V1_DatasetItem]) throws -> [Page] {
        let starts = Array(stride(from: 0, to: items.count, by: pageSize))
        return try ParallelMap.indices(starts.count, serialBelow: 2) { p in
            Result { try page(items, starts[p]..<min(items.count, starts[p] + pageSize)) }
        }.map { try $0.get() }
    }

    /// One page: its items' records serialized and framed, their digests packed, splits counted.
    private static func page(_ items: [Visionfleet_V1_DatasetItem], _ range: Range<Int>) throws -> Page {
        let records = try range.map { try items[$0].serializedData() }
        var counts = [Int](repeating: 0, count: splitColumns.count)
        var digests = Data(count: 32 * range.count)
        var frames = Data(count: records.reduce(0) { $0 + 5 + $1.count })
        try digests.withUnsafeMutableBytes { (digestBytes: UnsafeMutableRawBufferPointer) in
            try frames.withUnsafeMutableBytes { (frameBytes: UnsafeMutableRawBufferPointer) in
                var at = 0
                for (k, i) in range.enumerated() {
                    let split = items[i].split
                    guard BlobDigest.writeBytes(of: items[i].blobDigest, to: digestBytes.baseAddress! + 32 * k) else {
                        throw IngestError.storage("item \(i): blob digest '\(items[i].blobDigest)' is not a SHA-256 digest")
                    }
                    if let s = splitColumns.firstIndex(where: { $0.split == split }) { counts[s] += 1 }
                    frameBytes[at] = UInt8(truncatingIfNeeded: split.rawValue)
                    frameBytes.storeBytes(of: UInt32(records[k].count).littleEndian, toByteOffset: at + 1, as: UInt32.self)
                    records[k].withUnsafeBytes { frameBytes.baseAddress!.advanced(by: at + 5).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                    at += 5 + records[k].count
                }
            }
        }
        return Page(range: range, counts: counts, digests: digests, frames: frames)
    }

    /// Writes a version's prepared pages.
    static func insert(_ pages: [Page], dataset: String, version: Int32, db: Database) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO item_page (dataset, version, page, first_position, count, train_before, train_count, val_before, val_count,
                                   test_before, test_count, digests, records) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        var before = [Int](repeating: 0, count: splitColumns.count)
        for (page, prepared) in pages.enumerated() {
            var arguments: StatementArguments = [dataset, version, page, prepared.range.lowerBound, prepared.range.count]
            for k in splitColumns.indices { arguments += [before[k], prepared.counts[k]] }
            arguments += [prepared.digests, prepared.frames]
            try statement.execute(arguments: arguments)
            for k in splitColumns.indices { before[k] += prepared.counts[k] }
        }
    }

    /// Items of a version from `offset` in the version's order (of one split unless
    /// UNSPECIFIED, the offset then counting that split's items), at most `limit`.
    static func items(dataset: String, version: Int32, split: Visionfleet_V1_Split, offset: Int64, limit: Int, db: Database) throws
        -> [(index: Int64, item: Visionfleet_V1_DatasetItem)] {
        guard limit > 0 else { return [] }
        let (start, count): (String, String)
        if split == .unspecified {
            (start, count) = ("first_position", "count")
        } else if let column = splitColumns.first(where: { $0.split == split })?.column {
            (start, count) = ("\(column)_before", "\(column)_count")
        } else {
            return []
        }
        let rows = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT \(start), records FROM item_page WHERE dataset = ? AND version = ? AND \(start) + \(count) > ? ORDER BY page
            """), arguments: [dataset, version, offset])
        var out: [(index: Int64, item: Visionfleet_V1_DatasetItem)] = []
        while let row = try rows.next(), out.count < limit {
            var index: Int64 = row[0]
            let records: Data = row[1]
            try records.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                var at = 0
                while at + 5 <= raw.count, out.count < limit {
                    let itemSplit = Int(raw[at])
                    let length = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at + 1, as: UInt32.self)))
                    let body = at + 5
                    guard body + length <= raw.count else {
                        throw IngestError.storage("\(dataset)@\(version): an item page is truncated")
                    }
                    at = body + length
                    guard split == .unspecified || itemSplit == split.rawValue else { continue }
                    let position = index
                    index += 1
                    guard position >= offset else { continue }
                    out.append((position, try Visionfleet_V1_DatasetItem(serializedBytes: Data(raw[body..<(body + length)]))))
                }
            }
        }
        return out
    }

    /// Every blob digest an item names.
    static func referencedDigests(db: Database) throws -> Set<BlobDigest> {
        var out = Set<BlobDigest>()
        let rows = try Data.fetchCursor(db, sql: "SELECT digests FROM item_page")
        while let digests = try rows.next() {
            for start in stride(from: digests.startIndex, to: digests.endIndex - 31, by: 32) {
                out.insert(BlobDigest(bytes: digests[start..<(start + 32)]))
            }
        }
        return out
    }
}
