import Foundation
import GRDB

/// A service's metadata database: SQLite through GRDB in WAL mode with `synchronous = NORMAL`
/// (a committed transaction survives a process kill; power loss can lose the last
/// transactions since the latest WAL checkpoint sync, never corrupt the file), migrations run
/// on open. One read or write transaction per call.
public final class SQLiteDatabase: Sendable {
    public let path: String
    public let pool: DatabasePool

    /// Opens (creating) the database at `path` and applies `migrator`. `pageSize` applies to a
    /// database created here (SQLite's default 4,096 otherwise; an existing file keeps its own).
    /// `cacheKiB` bounds each connection's page cache (SQLite's default is 2,000 KiB).
    /// `autoCheckpointPages`: the log size, in pages, at which a commit copies the log into the
    /// database file (SQLite's default 1,000); a store that checkpoints off the write path
    /// raises it.
    public init(path: String, migrator: DatabaseMigrator, pageSize: Int? = nil, cacheKiB: Int? = nil,
                autoCheckpointPages: Int? = nil) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            if let pageSize { try db.execute(sql: "PRAGMA page_size = \(pageSize)") }
            if let cacheKiB { try db.execute(sql: "PRAGMA cache_size = -\(cacheKiB)") }
            if let autoCheckpointPages { try db.execute(sql: "PRAGMA wal_autocheckpoint = \(autoCheckpointPages)") }
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        do {
            try FileIO.makeDirectory((path as NSString).deletingLastPathComponent)
            pool = try DatabasePool(path: path, configuration: config)
            try migrator.migrate(pool)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.io(path: path, message: "cannot open the database: \(error)")
        }
    }

    /// One write transaction: committed when `body` returns, rolled back when it throws.
    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.write(body)
    }

    /// Copies the write-ahead log into the database file as far as readers allow (PASSIVE:
    /// never waits for them), syncing both.
    public func checkpoint() throws {
        try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
    }

    /// One read transaction over a consistent snapshot.
    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.read(body)
    }
}
