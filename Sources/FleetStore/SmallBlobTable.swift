import Foundation
import GRDB

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
        // Large pages: a batch of small rows is a few large writes.
        database = try SQLiteDatabase(path: path, migrator: migrator, pageSize: 65536)
    }

    /// Inserts in one transaction; true for each blob that was not there yet.
    func insert(_ blobs: [(digest: BlobDigest, data: Data)]) throws -> [Bool] {
        try guarded {
            try database.write { db in
                let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO blob (digest, data) VALUES (?, ?)")
                return try blobs.map { blob in
                    try insert.execute(arguments: [blob.digest.hex, blob.data])
                    return db.changesCount > 0
                }
            }
        }
    }

    /// The bytes of each digest (nil where absent), from one snapshot.
    func data(of digests: [BlobDigest]) throws -> [Data?] {
        try guarded {
            try database.read { db in
                let select = try db.cachedStatement(sql: "SELECT data FROM blob WHERE digest = ?")
                return try digests.map { try Data.fetchOne(select, arguments: [$0.hex]) }
            }
        }
    }

    func size(of digest: BlobDigest) throws -> Int64? {
        try guarded {
            try database.read { db in
                try Int64.fetchOne(db.cachedStatement(sql: "SELECT length(data) FROM blob WHERE digest = ?"), arguments: [digest.hex])
            }
        }
    }

    /// Every digest with its size.
    func list() throws -> [(digest: BlobDigest, size: Int64)] {
        try guarded {
            try database.read { db in
                try Row.fetchAll(db, sql: "SELECT digest, length(data) FROM blob").map { (BlobDigest(hex: $0[0]), $0[1]) }
            }
        }
    }

    func delete(_ digests: [BlobDigest]) throws {
        guard !digests.isEmpty else { return }
        try guarded {
            try database.write { db in
                let delete = try db.cachedStatement(sql: "DELETE FROM blob WHERE digest = ?")
                for digest in digests { try delete.execute(arguments: [digest.hex]) }
            }
        }
    }

    private func guarded<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as StoreError { throw error } catch {
            throw StoreError.io(path: path, message: "\(error)")
        }
    }
}
