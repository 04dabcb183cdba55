import FleetProtos
import FleetStore
import Foundation
import GRDB
import SwiftProtobuf

/// The embedded dataset catalog: SQLite through GRDB. Records are protobuf; keys are columns.
public final class SQLiteDatasetCatalog: DatasetCatalog {
    let database: SQLiteDatabase

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE dataset (
                    name TEXT PRIMARY KEY,
                    task INTEGER NOT NULL,
                    last_version INTEGER NOT NULL DEFAULT 0,
                    record BLOB NOT NULL);
                CREATE TABLE version (
                    dataset TEXT NOT NULL REFERENCES dataset(name) ON DELETE CASCADE,
                    version INTEGER NOT NULL,
                    digest TEXT NOT NULL,
                    record BLOB NOT NULL,
                    PRIMARY KEY (dataset, version));
                CREATE TABLE item (
                    dataset TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    position INTEGER NOT NULL,
                    split INTEGER NOT NULL,
                    digest TEXT NOT NULL,
                    record BLOB NOT NULL,
                    PRIMARY KEY (dataset, version, position),
                    FOREIGN KEY (dataset, version) REFERENCES version(dataset, version) ON DELETE CASCADE);
                CREATE INDEX item_by_split ON item(dataset, version, split, position);
                CREATE INDEX item_digest ON item(digest);
                """)
        }
        // Garbage collection's rare `SELECT DISTINCT digest` scans; every import paid for the index.
        migrator.registerMigration("v2-no-digest-index") { db in try db.execute(sql: "DROP INDEX item_digest") }
        // Items clustered by their key (one B-tree fewer per row; a version's rows appended in order).
        migrator.registerMigration("v3-items-without-rowid") { db in
            try db.execute(sql: """
                CREATE TABLE item_clustered (
                    dataset TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    position INTEGER NOT NULL,
                    split INTEGER NOT NULL,
                    digest TEXT NOT NULL,
                    record BLOB NOT NULL,
                    PRIMARY KEY (dataset, version, position),
                    FOREIGN KEY (dataset, version) REFERENCES version(dataset, version) ON DELETE CASCADE) WITHOUT ROWID;
                INSERT INTO item_clustered SELECT dataset, version, position, split, digest, record FROM item;
                DROP TABLE item;
                ALTER TABLE item_clustered RENAME TO item;
                CREATE INDEX item_by_split ON item(dataset, version, split, position);
                """)
        }
        // Items as pages of 1,024 (`ItemPages`): a version is a few dozen rows, not one per item.
        migrator.registerMigration("v4-item-pages") { db in
            try db.execute(sql: ItemPages.createTable)
            let versions = try Row.fetchAll(db, sql: "SELECT dataset, version FROM version ORDER BY dataset, version")
            for row in versions {
                let dataset: String = row[0]
                let version: Int32 = row[1]
                let records = try Data.fetchAll(db, sql: "SELECT record FROM item WHERE dataset = ? AND version = ? ORDER BY position",
                                                arguments: [dataset, version])
                try ItemPages.insert(try ItemPages.prepare(try records.map { try Visionfleet_V1_DatasetItem(serializedBytes: $0) }), dataset: dataset, version: version, db: db)
            }
            try db.execute(sql: "DROP TABLE item")
        }
        return migrator
    }

    /// A version's item pages are ~9 MiB per 70,000 items: past SQLite's 1,000-page (4 MiB)
    /// threshold, its commit would copy and sync the log (~60 ms); `checkpoint()` runs after
    /// the import's reply instead, and 64 MiB bounds the log.
    public init(path: String) throws {
        database = try SQLiteDatabase(path: path, migrator: Self.migrator, autoCheckpointPages: 16384)
    }

    public func checkpoint() throws {
        do { try database.checkpoint() } catch { throw IngestError.storage("database: checkpoint: \(error)") }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try database.write(body) } catch let error as IngestError { throw error } catch {
            throw IngestError.storage("database: \(error)")
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try database.read(body) } catch let error as IngestError { throw error } catch {
            throw IngestError.storage("database: \(error)")
        }
    }

    public func createDataset(_ request: Visionfleet_V1_CreateDatasetRequest, actor: String, now: Date) throws -> Visionfleet_V1_Dataset {
        try write { db in
            guard try !Self.exists(db, request.name) else { throw IngestError.alreadyExists("dataset '\(request.name)' already exists") }
            return try Self.insert(db, name: request.name, task: request.task, description: request.description_p, actor: actor, now: now)
        }
    }

    public func dataset(named name: String) throws -> Visionfleet_V1_Dataset {
        try read { db in try Self.load(db, name) }
    }

    public func listDatasets(task: Visionfleet_V1_TaskType, after: String?, limit: Int) throws -> (datasets: [Visionfleet_V1_Dataset], total: Int) {
        try read { db in
            let filter = task == .unspecified ? "" : "AND task = \(task.rawValue)"
            let total = try Int.fetchOne(try db.cachedStatement(sql: "SELECT COUNT(*) FROM dataset WHERE 1 \(filter)")) ?? 0
            let names = try String.fetchAll(try db.cachedStatement(sql: "SELECT name FROM dataset WHERE name > ? \(filter) ORDER BY name LIMIT ?"),
                                            arguments: [after ?? "", limit])
            return (try names.map { try Self.load(db, $0) }, total)
        }
    }

    public func deleteDataset(named name: String) throws {
        try write { db in
            guard try Self.exists(db, name) else { throw IngestError.notFound("dataset '\(name)' does not exist") }
            try db.execute(sql: "DELETE FROM item_page WHERE dataset = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM version WHERE dataset = ?", arguments: [name])
            try db.execute(sql: "DELETE FROM dataset WHERE name = ?", arguments: [name])
        }
    }

    public func commitVersion(_ draft: Visionfleet_V1_DatasetVersion, items: PreparedItems, createTask: Visionfleet_V1_TaskType,
                              description: String, actor: String, now: Date) throws -> (version: Visionfleet_V1_DatasetVersion, reused: Bool) {
        try write { db in
            if try !Self.exists(db, draft.dataset) {
                guard createTask != .unspecified else {
                    throw IngestError.invalidArgument(item: draft.dataset, field: "header.task",
                                                      message: "required: the dataset does not exist yet (classification or detection)")
                }
                _ = try Self.insert(db, name: draft.dataset, task: createTask, description: description, actor: actor, now: now)
            }
            let last = try Int32.fetchOne(try db.cachedStatement(sql: "SELECT last_version FROM dataset WHERE name = ?"), arguments: [draft.dataset]) ?? 0
            if let latest = try Data.fetchOne(try db.cachedStatement(sql: "SELECT record FROM version WHERE dataset = ? ORDER BY version DESC LIMIT 1"),
                                              arguments: [draft.dataset]) {
                let previous = try Visionfleet_V1_DatasetVersion(serializedBytes: latest)
                if previous.manifestDigest == draft.manifestDigest { return (previous, true) }
            }
            var version = draft
            version.version = last + 1
            version.createdAt = Google_Protobuf_Timestamp(date: now)
            try db.execute(sql: "UPDATE dataset SET last_version = ? WHERE name = ?", arguments: [version.version, draft.dataset])
            try db.execute(sql: "INSERT INTO version (dataset, version, digest, record) VALUES (?, ?, ?, ?)",
                           arguments: [draft.dataset, version.version, version.manifestDigest, try version.serializedData()])
            try ItemPages.insert(items.pages, dataset: draft.dataset, version: version.version, db: db)
            return (version, false)
        }
    }

    public func version(_ ref: Visionfleet_V1_DatasetRef) throws -> Visionfleet_V1_DatasetVersion {
        try read { db in try Self.loadVersion(db, ref) }
    }

    public func listVersions(dataset: String, after: Int32?, limit: Int) throws -> (versions: [Visionfleet_V1_DatasetVersion], total: Int) {
        try read { db in
            guard try Self.exists(db, dataset) else { throw IngestError.notFound("dataset '\(dataset)' does not exist") }
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM version WHERE dataset = ?", arguments: [dataset]) ?? 0
            let rows = try Data.fetchAll(db, sql: "SELECT record FROM version WHERE dataset = ? AND version > ? ORDER BY version LIMIT ?",
                                         arguments: [dataset, after ?? 0, limit])
            return (try rows.map { try Visionfleet_V1_DatasetVersion(serializedBytes: $0) }, total)
        }
    }

    public func items(_ ref: Visionfleet_V1_DatasetRef, split: Visionfleet_V1_Split, offset: Int64, limit: Int) throws
        -> [(index: Int64, item: Visionfleet_V1_DatasetItem)] {
        try read { db in
            let version = try Self.loadVersion(db, ref)
            return try ItemPages.items(dataset: version.dataset, version: version.version, split: split, offset: offset, limit: limit, db: db)
        }
    }

    public func referencedDigests() throws -> Set<BlobDigest> {
        try read { db in try ItemPages.referencedDigests(db: db) }
    }

    // MARK: helpers

    static func exists(_ db: Database, _ name: String) throws -> Bool {
        try Int.fetchOne(try db.cachedStatement(sql: "SELECT 1 FROM dataset WHERE name = ?"), arguments: [name]) != nil
    }

    static func insert(_ db: Database, name: String, task: Visionfleet_V1_TaskType, description: String, actor: String, now: Date) throws
        -> Visionfleet_V1_Dataset {
        var record = Visionfleet_V1_Dataset()
        record.name = name
        record.task = task
        record.description_p = description
        record.audit.createdAt = Google_Protobuf_Timestamp(date: now)
        record.audit.updatedAt = record.audit.createdAt
        record.audit.createdBy = actor
        try db.execute(sql: "INSERT INTO dataset (name, task, last_version, record) VALUES (?, ?, 0, ?)",
                       arguments: [name, task.rawValue, try record.serializedData()])
        return record
    }

    static func load(_ db: Database, _ name: String) throws -> Visionfleet_V1_Dataset {
        guard let data = try Data.fetchOne(try db.cachedStatement(sql: "SELECT record FROM dataset WHERE name = ?"), arguments: [name]) else {
            throw IngestError.notFound("dataset '\(name)' does not exist")
        }
        var dataset = try Visionfleet_V1_Dataset(serializedBytes: data)
        dataset.latestVersion = Int32(try Int.fetchOne(try db.cachedStatement(sql: "SELECT MAX(version) FROM version WHERE dataset = ?"),
                                                       arguments: [name]) ?? 0)
        return dataset
    }

    static func loadVersion(_ db: Database, _ ref: Visionfleet_V1_DatasetRef) throws -> Visionfleet_V1_DatasetVersion {
        guard try exists(db, ref.name) else { throw IngestError.notFound("dataset '\(ref.name)' does not exist") }
        let data: Data? = if ref.version == 0 {
            try Data.fetchOne(try db.cachedStatement(sql: "SELECT record FROM version WHERE dataset = ? ORDER BY version DESC LIMIT 1"),
                              arguments: [ref.name])
        } else {
            try Data.fetchOne(try db.cachedStatement(sql: "SELECT record FROM version WHERE dataset = ? AND version = ?"),
                              arguments: [ref.name, ref.version])
        }
        guard let data else {
            throw IngestError.notFound(ref.version == 0 ? "dataset '\(ref.name)' has no version yet" : "\(ref.name) has no version \(ref.version)")
        }
        return try Visionfleet_V1_DatasetVersion(serializedBytes: data)
    }
}
