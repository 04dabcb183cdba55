import FleetProtos
import FleetStore
import Foundation
import GRDB
import SwiftProtobuf

extension SQLiteRegistryStore {
    public func commitVersion(_ draft: VersionDraft, actor: String, now: Date) throws -> (Version, [Event]) {
        try write { db in
            var events: [Event] = []
            if try !Self.modelExists(db, draft.model) {
                guard let task = draft.createTask else { throw RegistryError.notFound("model '\(draft.model)' does not exist") }
                let model = try Self.insertModel(db, name: draft.model, task: task, description: "", tags: [:], actor: actor, now: now)
                events.append(try Self.appendEvent(db, model: draft.model, now: now) { $0.modelCreated = model })
            }
            let model = try Self.modelRecord(db, draft.model)
            guard model.task == draft.task else {
                throw RegistryError.invalidArgument(item: draft.model, field: "header.task",
                                                    message: "model '\(draft.model)' is \(model.task), the upload says \(draft.task)")
            }
            let number = Int32(try Int.fetchOne(try db.cachedStatement(sql: "SELECT last_version FROM model WHERE name = ?"), arguments: [draft.model]) ?? 0) + 1
            try db.cachedStatement(sql: "UPDATE model SET last_version = ? WHERE name = ?").execute(arguments: [number, draft.model])
            var version = Version()
            version.model = draft.model
            version.version = number
            version.task = draft.task
            version.manifestJson = draft.manifestJSON
            version.files = draft.files
            version.metrics = draft.metrics
            if let lineage = draft.lineage { version.lineage = lineage }
            version.tags = draft.tags
            version.description_p = draft.description
            version.createdAt = Google_Protobuf_Timestamp(date: now)
            version.createdBy = actor
            version.totalSize = draft.files.reduce(0) { $0 + $1.size }
            try db.cachedStatement(sql: "INSERT INTO version (model, version, record) VALUES (?, ?, ?)").execute(arguments: [draft.model, number, try version.serializedData()])
            for file in draft.files {
                try db.cachedStatement(sql: "INSERT INTO version_file (model, version, path, digest, size) VALUES (?, ?, ?, ?, ?)").execute(arguments: [draft.model, number, file.path, file.digest, file.size])
            }
            var created = version
            created.aliases = draft.aliases.sorted()
            events.append(try Self.appendEvent(db, model: draft.model, now: now) { $0.versionCreated = created })
            for alias in draft.aliases {
                var request = Visionfleet_V1_SetAliasRequest()
                request.model = draft.model
                request.alias = alias
                request.version = number
                request.reason = "set on upload of version \(number)"
                events.append(contentsOf: try Self.moveAlias(db, request, actor: actor, now: now).1)
            }
            return (created, events)
        }
    }

    public func version(_ ref: Visionfleet_V1_ModelRef) throws -> Version {
        try read { db in try Self.loadVersion(db, ref.name, try Self.resolve(db, ref)) }
    }

    public func listVersions(model: String, after: Int32?, limit: Int) throws -> (versions: [Version], total: Int) {
        try read { db in
            _ = try Self.modelRecord(db, model)
            let total = try Int.fetchOne(try db.cachedStatement(sql: "SELECT COUNT(*) FROM version WHERE model = ?"), arguments: [model]) ?? 0
            let numbers = try Int32.fetchAll(try db.cachedStatement(sql: "SELECT version FROM version WHERE model = ? AND version > ? ORDER BY version LIMIT ?"),
                                             arguments: [model, after ?? 0, limit])
            return (try numbers.map { try Self.loadVersion(db, model, $0) }, total)
        }
    }

    public func updateVersion(_ request: Visionfleet_V1_UpdateModelVersionRequest) throws -> Version {
        try write { db in
            let number = try Self.resolve(db, request.ref)
            var record = try Self.versionRecord(db, request.ref.name, number)
            if request.hasDescription_p { record.description_p = request.description_p }
            for (k, v) in request.setTags { record.tags[k] = v }
            for k in request.removeTags { record.tags[k] = nil }
            try db.cachedStatement(sql: "UPDATE version SET record = ? WHERE model = ? AND version = ?").execute(arguments: [try record.serializedData(), request.ref.name, number])
            return try Self.loadVersion(db, request.ref.name, number)
        }
    }

    public func deleteVersion(_ ref: Visionfleet_V1_ModelRef, now: Date) throws -> [Event] {
        try write { db in
            let number = try Self.resolve(db, ref)
            let version = try Self.loadVersion(db, ref.name, number)
            guard version.aliases.isEmpty else {
                throw RegistryError.failedPrecondition(
                    "\(ref.name) version \(number) is pointed at by \(version.aliases.joined(separator: ", ")); move or delete the alias first")
            }
            try db.cachedStatement(sql: "DELETE FROM version_file WHERE model = ? AND version = ?").execute(arguments: [ref.name, number])
            try db.cachedStatement(sql: "DELETE FROM version WHERE model = ? AND version = ?").execute(arguments: [ref.name, number])
            return [try Self.appendEvent(db, model: ref.name, now: now) { $0.versionDeleted = version }]
        }
    }

    public func referencedDigests() throws -> Set<BlobDigest> {
        try read { db in
            Set(try String.fetchAll(try db.cachedStatement(sql: "SELECT DISTINCT digest FROM version_file")).compactMap { try? BlobDigest(parsing: $0) })
        }
    }

    // MARK: helpers

    /// The version number a reference names: its number, an alias, or `latest`.
    static func resolve(_ db: Database, _ ref: Visionfleet_V1_ModelRef) throws -> Int32 {
        guard try modelExists(db, ref.name) else { throw RegistryError.notFound("model '\(ref.name)' does not exist") }
        switch ref.selector {
        case .version(let number)?:
            guard try Int.fetchOne(try db.cachedStatement(sql: "SELECT 1 FROM version WHERE model = ? AND version = ?"), arguments: [ref.name, number]) != nil else {
                throw RegistryError.notFound("\(ref.name) has no version \(number)")
            }
            return number
        case .alias(let alias)?:
            if let number = try Int32.fetchOne(try db.cachedStatement(sql: "SELECT version FROM alias WHERE model = ? AND alias = ?"), arguments: [ref.name, alias]) {
                return number
            }
            if alias == RegistryNames.latest,
               let number = try Int32.fetchOne(try db.cachedStatement(sql: "SELECT MAX(version) FROM version WHERE model = ?"), arguments: [ref.name]) {
                return number
            }
            throw RegistryError.notFound("\(ref.name) has no alias '\(alias)'")
        case nil:
            throw RegistryError.invalidArgument(item: ref.name, field: "ref", message: "name a version number or an alias")
        }
    }

    static func versionRecord(_ db: Database, _ model: String, _ number: Int32) throws -> Version {
        guard let data = try Data.fetchOne(try db.cachedStatement(sql: "SELECT record FROM version WHERE model = ? AND version = ?"), arguments: [model, number]) else {
            throw RegistryError.notFound("\(model) has no version \(number)")
        }
        return try Version(serializedBytes: data)
    }

    static func loadVersion(_ db: Database, _ model: String, _ number: Int32) throws -> Version {
        var version = try versionRecord(db, model, number)
        version.aliases = try String.fetchAll(try db.cachedStatement(sql: "SELECT alias FROM alias WHERE model = ? AND version = ? ORDER BY alias"),
                                              arguments: [model, number])
        return version
    }
}
