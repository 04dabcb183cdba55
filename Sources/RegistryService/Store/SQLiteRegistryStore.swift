import FleetProtos
import FleetStore
import Foundation
import GRDB
import SwiftProtobuf

/// The embedded registry metadata store: SQLite through GRDB (`SQLiteDatabase`).
public final class SQLiteRegistryStore: RegistryMetadataStore {
    public typealias Model = Visionfleet_V1_Model
    public typealias Version = Visionfleet_V1_ModelVersion
    public typealias Event = Visionfleet_V1_RegistryEvent

    let database: SQLiteDatabase

    public init(path: String) throws {
        database = try SQLiteDatabase(path: path, migrator: RegistrySchema.migrator)
    }

    /// Runs a transaction, turning database failures into registry errors.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try database.write(body) } catch let error as RegistryError { throw error } catch {
            throw RegistryError.storage("database: \(error)")
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try database.read(body) } catch let error as RegistryError { throw error } catch {
            throw RegistryError.storage("database: \(error)")
        }
    }

    // MARK: models

    public func createModel(_ request: Visionfleet_V1_CreateModelRequest, actor: String, now: Date) throws -> (Model, [Event]) {
        try write { db in
            guard try !Self.modelExists(db, request.name) else {
                throw RegistryError.alreadyExists("model '\(request.name)' already exists")
            }
            let model = try Self.insertModel(db, name: request.name, task: request.task, description: request.description_p,
                                             tags: request.tags, actor: actor, now: now)
            let event = try Self.appendEvent(db, model: request.name, now: now) { $0.modelCreated = model }
            return (model, [event])
        }
    }

    public func model(named name: String) throws -> Model {
        try read { db in try Self.loadModel(db, name) }
    }

    public func listModels(task: Visionfleet_V1_TaskType, after: String?, limit: Int) throws -> (models: [Model], total: Int) {
        try read { db in
            let filter = task == .unspecified ? "" : "AND task = \(task.rawValue)"
            let total = try Int.fetchOne(try db.cachedStatement(sql: "SELECT COUNT(*) FROM model WHERE 1 \(filter)")) ?? 0
            let names = try String.fetchAll(try db.cachedStatement(sql: "SELECT name FROM model WHERE name > ? \(filter) ORDER BY name LIMIT ?"),
                                            arguments: [after ?? "", limit])
            return (try names.map { try Self.loadModel(db, $0) }, total)
        }
    }

    public func updateModel(_ request: Visionfleet_V1_UpdateModelRequest, now: Date) throws -> Model {
        try write { db in
            var record = try Self.modelRecord(db, request.name)
            if request.hasDescription_p { record.description_p = request.description_p }
            for (k, v) in request.setTags { record.tags[k] = v }
            for k in request.removeTags { record.tags[k] = nil }
            record.audit.updatedAt = Google_Protobuf_Timestamp(date: now)
            try db.cachedStatement(sql: "UPDATE model SET record = ? WHERE name = ?").execute(arguments: [try record.serializedData(), request.name])
            return try Self.loadModel(db, request.name)
        }
    }

    public func deleteModel(named name: String, now: Date) throws -> [Event] {
        try write { db in
            _ = try Self.modelRecord(db, name)
            let aliased = try String.fetchAll(try db.cachedStatement(sql: "SELECT alias || ' → v' || version FROM alias WHERE model = ? ORDER BY alias"),
                                              arguments: [name])
            guard aliased.isEmpty else {
                throw RegistryError.failedPrecondition(
                    "model '\(name)' has aliases pointing at its versions (\(aliased.joined(separator: ", "))); delete them first")
            }
            try db.cachedStatement(sql: "DELETE FROM version_file WHERE model = ?").execute(arguments: [name])
            try db.cachedStatement(sql: "DELETE FROM version WHERE model = ?").execute(arguments: [name])
            try db.cachedStatement(sql: "DELETE FROM alias_change WHERE model = ?").execute(arguments: [name])
            try db.cachedStatement(sql: "DELETE FROM model WHERE name = ?").execute(arguments: [name])
            return [try Self.appendEvent(db, model: name, now: now) { $0.modelDeleted = name }]
        }
    }

    // MARK: helpers shared by the extensions

    static func modelExists(_ db: Database, _ name: String) throws -> Bool {
        try Int.fetchOne(try db.cachedStatement(sql: "SELECT 1 FROM model WHERE name = ?"), arguments: [name]) != nil
    }

    static func insertModel(_ db: Database, name: String, task: Visionfleet_V1_TaskType, description: String,
                            tags: [String: String], actor: String, now: Date) throws -> Model {
        var record = Model()
        record.name = name
        record.task = task
        record.description_p = description
        record.tags = tags
        record.audit.createdAt = Google_Protobuf_Timestamp(date: now)
        record.audit.updatedAt = record.audit.createdAt
        record.audit.createdBy = actor
        try db.cachedStatement(sql: "INSERT INTO model (name, task, last_version, record) VALUES (?, ?, 0, ?)").execute(arguments: [name, task.rawValue, try record.serializedData()])
        return record
    }

    /// The stored record (without the computed aliases and latest version).
    static func modelRecord(_ db: Database, _ name: String) throws -> Model {
        guard let data = try Data.fetchOne(try db.cachedStatement(sql: "SELECT record FROM model WHERE name = ?"), arguments: [name]) else {
            throw RegistryError.notFound("model '\(name)' does not exist")
        }
        return try Model(serializedBytes: data)
    }

    static func loadModel(_ db: Database, _ name: String) throws -> Model {
        var model = try modelRecord(db, name)
        model.latestVersion = Int32(try Int.fetchOne(try db.cachedStatement(sql: "SELECT MAX(version) FROM version WHERE model = ?"), arguments: [name]) ?? 0)
        for row in try Row.fetchAll(try db.cachedStatement(sql: "SELECT alias, version FROM alias WHERE model = ?"), arguments: [name]) {
            model.aliases[row["alias"]] = row["version"]
        }
        return model
    }

    /// Appends one event with the next sequence number (gap-free: writes are serialized).
    static func appendEvent(_ db: Database, model: String, now: Date, _ fill: (inout Event) -> Void) throws -> Event {
        var event = Event()
        event.sequence = Int64(try Int64.fetchOne(try db.cachedStatement(sql: "SELECT COALESCE(MAX(sequence), 0) FROM event")) ?? 0) + 1
        event.time = Google_Protobuf_Timestamp(date: now)
        fill(&event)
        try db.cachedStatement(sql: "INSERT INTO event (sequence, model, record) VALUES (?, ?, ?)").execute(arguments: [event.sequence, model, try event.serializedData()])
        return event
    }
}
