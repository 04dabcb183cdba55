import FleetProtos
import FleetStore
import Foundation
import GRDB
import SwiftProtobuf

/// Jobs and events in SQLite (`jobs.sqlite` under the service's home): records as protobuf,
/// the columns a query filters on beside them.
public final class SQLiteJobStore: JobStore {
    let database: SQLiteDatabase

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE job (
                    id TEXT PRIMARY KEY,
                    state INTEGER NOT NULL,
                    model TEXT NOT NULL,
                    idempotency_key TEXT UNIQUE,
                    record BLOB NOT NULL);
                CREATE INDEX job_by_state ON job(state, id);
                CREATE TABLE event (
                    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
                    job TEXT NOT NULL REFERENCES job(id) ON DELETE CASCADE,
                    record BLOB NOT NULL);
                CREATE INDEX event_by_job ON event(job, sequence);
                """)
        }
        return migrator
    }

    public init(path: String) throws {
        do { database = try SQLiteDatabase(path: path, migrator: Self.migrator) } catch {
            throw TrainingError.storage("\(path): \(error)")
        }
    }

    /// One transaction; errors other than `TrainingError` are storage failures.
    private func run<T>(write: Bool, _ body: (Database) throws -> T) throws -> T {
        do { return write ? try database.write(body) : try database.read(body) } catch let error as TrainingError { throw error } catch {
            throw TrainingError.storage("jobs database: \(error)")
        }
    }

    public func insert(_ job: Visionfleet_V1_Job, idempotencyKey: String) throws -> (job: Visionfleet_V1_Job, created: Bool) {
        try run(write: true) { db in
            if !idempotencyKey.isEmpty,
               let data = try Data.fetchOne(db, sql: "SELECT record FROM job WHERE idempotency_key = ?", arguments: [idempotencyKey]) {
                return (try Visionfleet_V1_Job(serializedBytes: data), false)
            }
            try db.execute(sql: "INSERT INTO job (id, state, model, idempotency_key, record) VALUES (?, ?, ?, ?, ?)",
                           arguments: [job.id, job.state.rawValue, job.modelName, idempotencyKey.isEmpty ? nil : idempotencyKey,
                                       try job.serializedData()])
            _ = try Self.insertEvent(db, job: job.id, .with { $0.stateChanged = job.state; $0.time = job.createdAt })
            return (job, true)
        }
    }

    public func job(_ id: String) throws -> Visionfleet_V1_Job {
        try run(write: false) { db in try Self.load(db, id) }
    }

    public func job(idempotencyKey: String) throws -> Visionfleet_V1_Job? {
        try run(write: false) { db in
            try Data.fetchOne(db, sql: "SELECT record FROM job WHERE idempotency_key = ?", arguments: [idempotencyKey])
                .map { try Visionfleet_V1_Job(serializedBytes: $0) }
        }
    }

    public func list(state: Visionfleet_V1_JobState, model: String, after: String?, limit: Int) throws -> (jobs: [Visionfleet_V1_Job], total: Int) {
        try run(write: false) { db in
            var filter = ""
            var arguments: StatementArguments = []
            if state != .unspecified { filter += " AND state = ?"; arguments += [state.rawValue] }
            if !model.isEmpty { filter += " AND model = ?"; arguments += [model] }
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM job WHERE 1\(filter)", arguments: arguments) ?? 0
            let rows = try Data.fetchAll(db, sql: "SELECT record FROM job WHERE id > ?\(filter) ORDER BY id LIMIT ?",
                                         arguments: [after ?? ""] + arguments + [limit])
            return (try rows.map { try Visionfleet_V1_Job(serializedBytes: $0) }, total)
        }
    }

    public func count(in states: [Visionfleet_V1_JobState]) throws -> Int {
        try run(write: false) { db in
            let list = states.map { String($0.rawValue) }.joined(separator: ",")
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM job WHERE state IN (\(list))") ?? 0
        }
    }

    public func transition(_ id: String, to state: Visionfleet_V1_JobState, update: (inout Visionfleet_V1_Job) -> Void) throws
        -> (job: Visionfleet_V1_Job, sequence: Int64) {
        try run(write: true) { db in
            var job = try Self.load(db, id)
            guard JobLifecycle.canMove(from: job.state, to: state) else {
                throw TrainingError.failedPrecondition("job \(id) is \(JobLifecycle.name(job.state)); it cannot become \(JobLifecycle.name(state))")
            }
            update(&job)
            job.state = state
            try db.execute(sql: "UPDATE job SET state = ?, record = ? WHERE id = ?", arguments: [state.rawValue, try job.serializedData(), id])
            let sequence = try Self.insertEvent(db, job: id, .with { $0.stateChanged = state; $0.time = Google_Protobuf_Timestamp(date: Date()) })
            return (job, sequence)
        }
    }

    public func append(_ events: [Visionfleet_V1_JobEvent], to id: String) throws -> Int64 {
        try run(write: true) { db in
            var job = try Self.load(db, id)
            var last: Int64 = 0
            var progressed = false
            for event in events {
                last = try Self.insertEvent(db, job: id, event)
                // The job record follows its progress: epoch, step, best metrics.
                switch event.event {
                case .step(let s)?:
                    job.epoch = s.epoch; job.step = s.step; job.totalSteps = s.totalSteps
                    progressed = true
                case .epoch(let e)?:
                    job.epoch = e.epoch
                    if e.isBest { job.bestMetrics = e.metrics }
                    progressed = true
                case .peakRssBytes(let bytes)?:
                    job.peakRssBytes = max(job.peakRssBytes, bytes)
                    progressed = true
                case .trainImagesPerSecond(let rate)?:
                    job.trainImagesPerSecond = rate
                    progressed = true
                default: break
                }
            }
            if progressed { try db.execute(sql: "UPDATE job SET record = ? WHERE id = ?", arguments: [try job.serializedData(), id]) }
            return last
        }
    }

    public func events(of id: String, after sequence: Int64, limit: Int) throws -> [Visionfleet_V1_JobEvent] {
        try run(write: false) { db in
            let rows = try Row.fetchAll(db, sql: "SELECT sequence, record FROM event WHERE job = ? AND sequence > ? ORDER BY sequence LIMIT ?",
                                        arguments: [id, sequence, limit])
            return try rows.map { row in
                var event = try Visionfleet_V1_JobEvent(serializedBytes: row["record"] as Data)
                event.sequence = row["sequence"]
                return event
            }
        }
    }

    public func latestSequence() throws -> Int64 {
        try run(write: false) { db in try Int64.fetchOne(db, sql: "SELECT MAX(sequence) FROM event") ?? 0 }
    }

    static func load(_ db: Database, _ id: String) throws -> Visionfleet_V1_Job {
        guard let data = try Data.fetchOne(db, sql: "SELECT record FROM job WHERE id = ?", arguments: [id]) else {
            throw TrainingError.notFound("no job \(id)")
        }
        return try Visionfleet_V1_Job(serializedBytes: data)
    }

    static func insertEvent(_ db: Database, job: String, _ event: Visionfleet_V1_JobEvent) throws -> Int64 {
        var stored = event
        stored.jobID = job
        if !stored.hasTime { stored.time = Google_Protobuf_Timestamp(date: Date()) }
        try db.execute(sql: "INSERT INTO event (job, record) VALUES (?, ?)", arguments: [job, try stored.serializedData()])
        return db.lastInsertedRowID
    }
}
