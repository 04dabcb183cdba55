import FleetProtos
import Foundation
import GRDB
import GRDBSQLite

/// A version's item rows written in bulk: records serialized on every core, then one prepared
/// statement bound through SQLite's C API (GRDB's argument boxing cost more than the insert).
enum ItemRows {
    static func insert(_ items: [Visionfleet_V1_DatasetItem], dataset: String, version: Int32, db: Database) throws {
        let records = try serialize(items)
        let statement = try db.makeStatement(sql: "INSERT INTO item (dataset, version, position, split, digest, record) VALUES (?, ?, ?, ?, ?, ?)")
        let handle = statement.sqliteStatement
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (position, item) in items.enumerated() {
            sqlite3_reset(handle)
            sqlite3_bind_text(handle, 1, dataset, -1, transient)
            sqlite3_bind_int(handle, 2, version)
            sqlite3_bind_int64(handle, 3, Int64(position))
            sqlite3_bind_int(handle, 4, Int32(item.split.rawValue))
            sqlite3_bind_text(handle, 5, item.blobDigest, -1, transient)
            let code = records[position].withUnsafeBytes { raw in
                sqlite3_bind_blob(handle, 6, raw.baseAddress, Int32(raw.count), transient)
            }
            guard code == SQLITE_OK, sqlite3_step(handle) == SQLITE_DONE else {
                throw IngestError.storage("inserting item \(position) of \(dataset)@\(version): \(String(cString: sqlite3_errmsg(db.sqliteConnection)))")
            }
        }
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Each item's protobuf record, on all cores.
    static func serialize(_ items: [Visionfleet_V1_DatasetItem]) throws -> [Data] {
        let slots = ConcurrentSlots<Result<Data, any Error>>(count: items.count)
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, items.count / 1024))
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            for i in (items.count * w / workers)..<(items.count * (w + 1) / workers) { slots.set(i, Result { try items[i].serializedData() }) }
        }
        return try slots.values.map { try $0!.get() }
    }
}
