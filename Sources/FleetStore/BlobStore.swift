import Foundation

/// A content-addressed blob store: blobs are named by the SHA-256 of their bytes, written
/// through a private temp place, made visible whole, and verified on every read. The local
/// filesystem store is the embedded default; an S3-compatible store can implement the same
/// protocol without touching the services.
public protocol BlobStore: Sendable {
    /// Starts a new blob. Its bytes stay private until `commit`.
    func makeWriter() throws -> any BlobWriter

    /// Makes a finished writer's blob visible under its digest (a blob already stored is kept
    /// and the new bytes dropped) and pins it: garbage collection keeps a pinned blob, so a
    /// caller can commit blobs first and the metadata that references them after. Call
    /// `unpin` once that metadata committed or was given up.
    func commit(_ writer: any BlobWriter) throws -> CommittedBlob

    /// Commits many finished writers (`finishUnsynced` suffices) with one flush to stable
    /// storage for the whole batch, pinned like `commit`: a bulk import of many small images.
    func commitAll(_ writers: [any BlobWriter]) throws -> [CommittedBlob]

    /// Stores many small blobs held in memory with one flush for the batch, pinned like
    /// `commit`; a blob already stored is only pinned (no file is written or removed).
    func storeAll(_ blobs: [Data]) throws -> [CommittedBlob]

    /// `storeAll` with each blob's digest already computed by the caller from these bytes;
    /// `synced: false` leaves the flush to a later `flush()` (many batches, one flush).
    func storeAll(_ blobs: [Data], digests: [BlobDigest], synced: Bool) throws -> [CommittedBlob]

    /// Makes every blob stored so far durable.
    func flush() throws

    /// Housekeeping after a large write (the small-blob table's log moved into its file), for
    /// a background queue: what is stored is durable without it.
    func checkpoint() throws

    /// Makes a stored blob readable as the file `url` (for a reader that wants paths): a hard
    /// link on the local store, a verified copy elsewhere.
    func materialize(_ digest: BlobDigest, at url: URL) throws
    func materialize(_ digest: BlobDigest, atPath path: String) throws

    /// Undoes one `commit` pin per digest.
    func unpin(_ digests: [BlobDigest])

    func contains(_ digest: BlobDigest) -> Bool

    /// Size in bytes; `blobNotFound` when absent.
    func size(of digest: BlobDigest) throws -> Int64

    /// Opens a blob for a streaming read that checks the digest when it reaches the end.
    func openReader(_ digest: BlobDigest) throws -> any BlobReader

    /// Many whole blobs, each verified (`integrity` for one whose bytes do not match).
    func readAll(_ digests: [BlobDigest]) throws -> [Data]

    /// Removes every blob not in `referenced()` and not pinned, and temp files of writers that
    /// are gone. `referenced` is called while new commits wait, so a blob committed during the
    /// collection is never removed.
    func collectGarbage(dryRun: Bool, referenced: () throws -> Set<BlobDigest>) throws -> GarbageReport
}

extension BlobStore {
    /// Through writers: for stores without a cheaper path.
    public func storeAll(_ blobs: [Data]) throws -> [CommittedBlob] {
        var writers: [any BlobWriter] = []
        do {
            for data in blobs {
                let writer = try makeWriter()
                writers.append(writer)
                try writer.write(data)
                _ = try writer.finishUnsynced()
            }
            return try commitAll(writers)
        } catch {
            for w in writers { w.abort() }
            throw error
        }
    }

    public func storeAll(_ blobs: [Data], digests: [BlobDigest], synced: Bool) throws -> [CommittedBlob] { try storeAll(blobs) }

    public func flush() throws {}

    public func checkpoint() throws {}

    public func readAll(_ digests: [BlobDigest]) throws -> [Data] { try digests.map(readWhole) }

    /// A whole blob, verified.
    public func readWhole(_ digest: BlobDigest) throws -> Data {
        let reader = try openReader(digest)
        var data = Data()
        data.reserveCapacity(Int(reader.size))
        while let chunk = try reader.read(max: 1 << 20) { data.append(chunk) }
        return data
    }

    /// Reads a whole blob through, checking its digest; returns its size.
    @discardableResult
    public func verify(_ digest: BlobDigest, chunkSize: Int = 1 << 20) throws -> Int64 {
        let reader = try openReader(digest)
        var total: Int64 = 0
        while let chunk = try reader.read(max: chunkSize) { total += Int64(chunk.count) }
        return total
    }
}

/// Bytes of a blob being written. Not thread-safe: one writer belongs to one task.
public protocol BlobWriter: AnyObject {
    /// Bytes written so far.
    var size: Int64 { get }
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Flushes to stable storage and returns the digest of the bytes written.
    func finish() throws -> BlobDigest
    /// Closes without flushing (for `commitAll`, which flushes the batch at once).
    func finishUnsynced() throws -> BlobDigest
    /// Drops the bytes; safe to call more than once and after `commit`.
    func abort()
}

extension BlobStore {
    public func materialize(_ digest: BlobDigest, at url: URL) throws {
        let reader = try openReader(digest)
        guard FileManager.default.createFile(atPath: url.path, contents: nil), let handle = try? FileHandle(forWritingTo: url) else {
            throw StoreError.io(path: url.path, message: "cannot create the file")
        }
        defer { try? handle.close() }
        while let chunk = try reader.read(max: 1 << 20) { try handle.write(contentsOf: chunk) }
    }

    public func commitAll(_ writers: [any BlobWriter]) throws -> [CommittedBlob] {
        var done: [CommittedBlob] = []
        do {
            for w in writers { done.append(try commit(w)) }
        } catch {
            unpin(done.map(\.digest))
            throw error
        }
        return done
    }
}

extension BlobWriter {
    public func finishUnsynced() throws -> BlobDigest { try finish() }

    public func write<Bytes: ContiguousBytes>(_ bytes: Bytes) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}

/// A streaming read. `read` returns nil at the end, after checking the digest of everything
/// read (`integrity` when it does not match).
public protocol BlobReader: AnyObject {
    var size: Int64 { get }
    func read(max: Int) throws -> Data?
}

public struct CommittedBlob: Sendable, Equatable {
    public let digest: BlobDigest
    public let size: Int64
    /// True when the blob was already stored and the new bytes were dropped.
    public let deduplicated: Bool
}

public struct GarbageReport: Sendable, Equatable {
    public var blobsRemoved = 0
    public var bytesFreed: Int64 = 0
    public var blobsKept = 0
    public var tempFilesRemoved = 0
    public init() {}
}
