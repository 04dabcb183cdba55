import FleetProtos
import Foundation
import GRDB
import SwiftProtobuf

extension SQLiteRegistryStore {
    public func setAlias(_ request: Visionfleet_V1_SetAliasRequest, actor: String, now: Date) throws -> (Visionfleet_V1_AliasChange, [Event]) {
        try write { db in try Self.moveAlias(db, request, actor: actor, now: now) }
    }

    public func deleteAlias(model: String, alias: String, actor: String, now: Date) throws -> (Visionfleet_V1_AliasChange, [Event]) {
        try write { db in
            _ = try Self.modelRecord(db, model)
            guard let from = try Int32.fetchOne(try db.cachedStatement(sql: "SELECT version FROM alias WHERE model = ? AND alias = ?"), arguments: [model, alias]) else {
                throw RegistryError.notFound("\(model) has no alias '\(alias)'")
            }
            try db.cachedStatement(sql: "DELETE FROM alias WHERE model = ? AND alias = ?").execute(arguments: [model, alias])
            return try Self.recordChange(db, model: model, alias: alias, from: from, to: 0, reason: "deleted", actor: actor, now: now)
        }
    }

    public func aliasHistory(model: String, alias: String?) throws -> [Visionfleet_V1_AliasChange] {
        try read { db in
            _ = try Self.modelRecord(db, model)
            let rows: [Data] = if let alias {
                try Data.fetchAll(try db.cachedStatement(sql: "SELECT record FROM alias_change WHERE model = ? AND alias = ? ORDER BY id"), arguments: [model, alias])
            } else {
                try Data.fetchAll(try db.cachedStatement(sql: "SELECT record FROM alias_change WHERE model = ? ORDER BY id"), arguments: [model])
            }
            return try rows.map { try Visionfleet_V1_AliasChange(serializedBytes: $0) }
        }
    }

    public func events(after: Int64, model: String?, limit: Int) throws -> [Event] {
        try read { db in
            let rows: [Data] = if let model {
                try Data.fetchAll(try db.cachedStatement(sql: "SELECT record FROM event WHERE model = ? AND sequence > ? ORDER BY sequence LIMIT ?"),
                                  arguments: [model, after, limit])
            } else {
                try Data.fetchAll(try db.cachedStatement(sql: "SELECT record FROM event WHERE sequence > ? ORDER BY sequence LIMIT ?"), arguments: [after, limit])
            }
            return try rows.map { try Event(serializedBytes: $0) }
        }
    }

    public func latestSequence() throws -> Int64 {
        try read { db in try Int64.fetchOne(try db.cachedStatement(sql: "SELECT COALESCE(MAX(sequence), 0) FROM event")) ?? 0 }
    }

    /// Moves (or creates) an alias with compare-and-set: `expected_version` 0 = unconditional,
    /// −1 = the alias must not exist, n = it must point at n now (else `aborted`).
    static func moveAlias(_ db: Database, _ request: Visionfleet_V1_SetAliasRequest, actor: String, now: Date) throws
        -> (Visionfleet_V1_AliasChange, [Event]) {
        _ = try modelRecord(db, request.model)
        guard try Int.fetchOne(try db.cachedStatement(sql: "SELECT 1 FROM version WHERE model = ? AND version = ?"),
                               arguments: [request.model, request.version]) != nil else {
            throw RegistryError.notFound("\(request.model) has no version \(request.version)")
        }
        let current = try Int32.fetchOne(try db.cachedStatement(sql: "SELECT version FROM alias WHERE model = ? AND alias = ?"),
                                         arguments: [request.model, request.alias])
        switch request.expectedVersion {
        case 0: break
        case -1 where current != nil:
            throw RegistryError.aborted("\(request.model)@\(request.alias) already exists (version \(current!)); expected it absent")
        case -1: break
        case let expected where current != expected:
            throw RegistryError.aborted("\(request.model)@\(request.alias) points at \(current.map { "version \($0)" } ?? "nothing"), not version \(expected)")
        default: break
        }
        try db.cachedStatement(sql: "INSERT INTO alias (model, alias, version) VALUES (?, ?, ?) ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version").execute(arguments: [request.model, request.alias, request.version])
        return try recordChange(db, model: request.model, alias: request.alias, from: current ?? 0, to: request.version,
                                reason: request.reason, actor: actor, now: now)
    }

    static func recordChange(_ db: Database, model: String, alias: String, from: Int32, to: Int32, reason: String, actor: String,
                             now: Date) throws -> (Visionfleet_V1_AliasChange, [Event]) {
        var change = Visionfleet_V1_AliasChange()
        change.model = model
        change.alias = alias
        change.fromVersion = from
        change.toVersion = to
        change.reason = reason
        change.changedBy = actor
        change.changedAt = Google_Protobuf_Timestamp(date: now)
        try db.cachedStatement(sql: "INSERT INTO alias_change (model, alias, record) VALUES (?, ?, ?)").execute(arguments: [model, alias, try change.serializedData()])
        let event = try appendEvent(db, model: model, now: now) { $0.aliasChanged = change }
        return (change, [event])
    }
}
