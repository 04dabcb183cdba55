import Foundation
import GRDB
import GRDBSQLite

/// Small blobs (most dataset images) as rows of one SQLite table instead of a file each: an
/// import of 70,000 thumbnails writes a few transactions, not 70,000 inodes. WAL with
/// `synchronous = NORMAL`: a transaction's rows reach stable storage with the store's next
/// `syncfs` (`LocalBlobStore.flush`), which comes before any metadata naming them commits.
final class SmallBlobTable: Sendable {
    /// Blobs up to this size go in the table; larger ones are files.
    static let maxBlobBytes = 128 << 10

    let path: String
    private let database: SQLiteDatabase

    init(path: String) throws {
        self.path = path
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: "CREATE TABLE blob (digest TEXT PRIMARY KEY, data BLOB NOT NULL)")
        }
        // The key as its 32 bytes, not 64 hex digits: the digest index is half the size. Each
        // transaction rewrites the index pages its random keys land on, so the index's size is
        // what an import writes beyond its images.
        migrator.registerMigration("v2-binary-digest") { db in
            db.add(function: DatabaseFunction("vf_digest_key", argumentCount: 1, pure: true) { values in
                guard let hex = String.fromDatabaseValue(values[0]) else { return nil }
                return (try? BlobDigest(parsing: hex)).map { Data($0.bytes) }
            })
            try db.execute(sql: """
                CREATE TABLE blob_v2 (digest BLOB PRIMARY KEY, data BLOB NOT NULL);
                INSERT INTO blob_v2 (digest, data) SELECT vf_digest_key(digest), data FROM blob ORDER BY rowid;
                DROP TABLE blob;
                ALTER TABLE blob_v2 RENAME TO blob;
                """)
        }
        // Large pages: a batch of small rows is a few large writes. A cache that holds the
        // digest index (~3 MiB per 70,000 blobs): SQLite's default 2 MiB is 31 such pages, and
        // every batch re-read what it had evicted. The log checkpoints at 256 MiB instead of
        // SQLite's 1,000 pages (64 MiB here): a checkpoint copies and syncs the whole log, about
        // 250 ms in the middle of an import; `checkpoint()` does it after the import instead.
        database = try SQLiteDatabase(path: path, migrator: migrator, pageSize: 65536, cacheKiB: 64 << 10,
                                      autoCheckpointPages: Self.autoCheckpointPages)
    }

    static let autoCheckpointPages = 4096

    /// Moves the log into the table's file (its rows are durable either way): housekeeping for
    /// after a large write, off any reply's path.
    func checkpoint() throws {
        try guarded { try database.checkpoint() }
    }

    /// Inserts in one transaction; true for each blob that was not there yet. Bound through
    /// SQLite's C API (the key from the stack, the bytes in place): an import inserts a row
    /// per image, and GRDB's boxed arguments cost as much as SQLite's own work on the row.
    func insert(_ blobs: [(digest: BlobDigest, data: Data)]) throws -> [Bool] {
        try guarded {
            try database.write { db in
                let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO blob (digest, data) VALUES (?, ?)")
                let statement = insert.sqliteStatement, connection = db.sqliteConnection
                defer { sqlite3_clear_bindings(statement) }
                var added = [Bool](repeating: false, count: blobs.count)
                var key = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
                // In key order: consecutive rows land on the same index page, still in cache.
                for i in blobs.indices.sorted(by: { blobs[$0].digest < blobs[$1].digest }) {
                    let blob = blobs[i]
                    let code = withUnsafeMutableBytes(of: &key) { key in
                        blob.digest.write(to: key.baseAddress!)
                        return blob.data.withUnsafeBytes { bytes in
                            // SQLITE_STATIC (nil): both buffers outlive the step; each row binds both anew.
                            sqlite3_bind_blob(statement, 1, key.baseAddress, 32, nil)
                            sqlite3_bind_blob(statement, 2, bytes.baseAddress ?? UnsafeRawPointer(key.baseAddress!), Int32(bytes.count), nil)
                            defer { sqlite3_reset(statement) }
                            return sqlite3_step(statement)
                        }
                    }
                    guard code == SQLITE_DONE else {
                        throw StoreError.io(path: path, message: "inserting \(blob.digest): \(String(cString: sqlite3_errmsg(connection)))")
                    }
                    added[i] = sqlite3_changes(connection) > 0
                }
                return added
            }
        }
    }

    /// The bytes of each digest (nil where absent), from one snapshot.
    func data(of digests: [BlobDigest]) throws -> [Data?] {
        try guarded {
            try database.read { db in
                let select = try db.cachedStatement(sql: "SELECT data FROM blob WHERE digest = ?")
                return try digests.map { try Data.fetchOne(select, arguments: [Data($0.bytes)]) }
            }
        }
    }

    func size(of digest: BlobDigest) throws -> Int64? {
        try guarded {
            try database.read { db in
                try Int64.fetchOne(db.cachedStatement(sql: "SELECT length(data) FROM blob WHERE digest = ?"), arguments: [Data(digest.bytes)])
            }
        }
    }

    /// Every digest with its size.
    func list() throws -> [(digest: BlobDigest, size: Int64)] {
        try guarded {
            try database.read { db in
                try Row.fetchAll(db, sql: "SELECT digest, length(data) FROM blob").map { (BlobDigest(bytes: $0[0] as Data), $0[1]) }
            }
        }
    }

    func delete(_ digests: [BlobDigest]) throws {
        guard !digests.isEmpty else { return }
        try guarded {
            try database.write { db in
                let delete = try db.cachedStatement(sql: "DELETE FROM blob WHERE digest = ?")
                for digest in digests { try delete.execute(arguments: [Data(digest.bytes)]) }
            }
        }
    }

    private func guarded<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as StoreError { throw error } catch {
            throw StoreError.io(path: path, message: "\(error)")
        }
    }
}
