import CFileSync
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Blobs as files on the local filesystem: `blobs/sha256/ab/cd/<hex>` under the root, written
/// to `tmp/` first, fsynced, renamed into place and the folder fsynced, so a blob is never
/// visible half-written and survives a crash once `commit` returned. Small blobs stored in
/// bulk (`storeAll`) are rows of `blobs/small.sqlite` instead; every read looks in both.
public final class LocalBlobStore: BlobStore {
    public let root: URL
    let blobsPath: String
    let tempPath: String
    let small: SmallBlobTable

    private struct State {
        var pins: [BlobDigest: Int] = [:]
        var activeTemps: Set<String> = []
        /// Fan-out folders known to exist (`ab/cd`), so a commit does not ask the filesystem again.
        var folders: Set<String> = []

        /// Undoes one pin per digest.
        mutating func unpin<Digests: Sequence<BlobDigest>>(_ digests: Digests) {
            for d in digests {
                guard let n = pins[d] else { continue }
                pins[d] = n > 1 ? n - 1 : nil
            }
        }
    }
    private let state = Mutex(State())

    /// Opens (creating) a store; temp files left by a previous process are removed.
    public init(root: URL) throws {
        self.root = root
        blobsPath = root.appendingPathComponent("blobs/sha256").path
        tempPath = root.appendingPathComponent("tmp").path
        try FileIO.makeDirectory(blobsPath)
        try FileIO.makeDirectory(tempPath)
        small = try SmallBlobTable(path: root.appendingPathComponent("blobs/small.sqlite").path)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tempPath)) ?? [] {
            unlink(tempPath + "/" + name)
        }
    }

    func path(of digest: BlobDigest) -> String { folder(of: digest) + "/" + digest.hex }

    /// The fan-out folder a blob lives in: `ab/cd` from its first four hex digits.
    func folder(of digest: BlobDigest) -> String {
        let h = digest.hex.utf8
        return blobsPath + "/" + String(decoding: h.prefix(2), as: UTF8.self) + "/" + String(decoding: h.dropFirst(2).prefix(2), as: UTF8.self)
    }

    public func makeWriter() throws -> any BlobWriter {
        let name = UUID().uuidString + ".part"
        state.withLock { _ = $0.activeTemps.insert(name) }
        do {
            return try LocalBlobWriter(path: tempPath + "/" + name) { [weak self] in
                _ = self?.state.withLock { $0.activeTemps.remove(name) }
            }
        } catch {
            _ = state.withLock { $0.activeTemps.remove(name) }
            throw error
        }
    }

    public func commit(_ writer: any BlobWriter) throws -> CommittedBlob {
        guard let local = writer as? LocalBlobWriter, let digest = local.digest else {
            throw StoreError.io(path: tempPath, message: "commit of a writer that is not a finished LocalBlobWriter")
        }
        let target = path(of: digest)
        let folder = (target as NSString).deletingLastPathComponent
        // Under the lock, so garbage collection never sees the blob unpinned and unreferenced.
        return try state.withLock { s throws -> CommittedBlob in
            s.pins[digest, default: 0] += 1
            do {
                let deduplicated = FileIO.fileSize(target) != nil
                if deduplicated {
                    unlink(local.path)
                } else {
                    try FileIO.makeDirectory(folder)
                    guard rename(local.path, target) == 0 else { throw FileIO.failure(target, "rename into the store") }
                    try FileIO.syncDirectory(folder)
                }
                // The temp file is gone either way; the writer must not touch this lock again.
                local.detach()
                s.activeTemps.remove(local.name)
                return CommittedBlob(digest: digest, size: local.size, deduplicated: deduplicated)
            } catch {
                s.unpin([digest])
                throw error
            }
        }
    }

    public func storeAll(_ blobs: [Data]) throws -> [CommittedBlob] {
        try storeAll(blobs, digests: blobs.map { SHA256Stream.digest(of: $0) }, synced: true)
    }

    public func storeAll(_ blobs: [Data], digests: [BlobDigest], synced: Bool) throws -> [CommittedBlob] {
        guard !blobs.isEmpty else { return [] }
        precondition(blobs.count == digests.count, "one digest per blob")
        let done = try state.withLock { s throws -> [CommittedBlob] in
            var done: [CommittedBlob] = []
            do {
                // Small ones: rows of one transaction (the table flushes it).
                let smallOnes = zip(blobs, digests).filter { $0.0.count <= SmallBlobTable.maxBlobBytes }.map { (digest: $0.1, data: $0.0) }
                var inserted = try small.insert(smallOnes).makeIterator()
                for (data, digest) in zip(blobs, digests) {
                    s.pins[digest, default: 0] += 1
                    done.append(CommittedBlob(digest: digest, size: Int64(data.count), deduplicated: true))
                    if data.count <= SmallBlobTable.maxBlobBytes {
                        if inserted.next() == true { done[done.count - 1] = CommittedBlob(digest: digest, size: Int64(data.count), deduplicated: false) }
                        continue
                    }
                    let target = path(of: digest)
                    if FileIO.fileSize(target) != nil { continue }
                    // Written beside its final place and renamed: never visible half-written.
                    try makeFolder(of: digest, &s)
                    let temp = target + ".part"
                    let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
                    guard fd >= 0 else { throw FileIO.failure(temp, "cannot create") }
                    do {
                        try data.withUnsafeBytes { try FileIO.writeAll(fd, $0, path: temp) }
                        close(fd)
                    } catch {
                        close(fd)
                        unlink(temp)
                        throw error
                    }
                    guard rename(temp, target) == 0 else {
                        unlink(temp)
                        throw FileIO.failure(target, "rename into the store")
                    }
                    done[done.count - 1] = CommittedBlob(digest: digest, size: Int64(data.count), deduplicated: false)
                }
            } catch {
                s.unpin(done.map(\.digest))
                throw error
            }
            return done
        }
        guard synced, done.contains(where: { !$0.deduplicated }) else { return done }
        try syncBatch(done)
        return done
    }

    public func commitAll(_ writers: [any BlobWriter]) throws -> [CommittedBlob] {
        guard !writers.isEmpty else { return [] }
        let locals = try writers.map { w throws -> (LocalBlobWriter, BlobDigest) in
            guard let local = w as? LocalBlobWriter, let digest = local.digest else {
                throw StoreError.io(path: tempPath, message: "commitAll of a writer that is not a finished LocalBlobWriter")
            }
            return (local, digest)
        }
        let done = try state.withLock { s throws -> [CommittedBlob] in
            var done: [CommittedBlob] = []
            do {
                for (local, digest) in locals {
                    s.pins[digest, default: 0] += 1
                    let target = path(of: digest)
                    let deduplicated = FileIO.fileSize(target) != nil
                    if deduplicated {
                        unlink(local.path)
                    } else {
                        try makeFolder(of: digest, &s)
                        guard rename(local.path, target) == 0 else { throw FileIO.failure(target, "rename into the store") }
                    }
                    local.detach()
                    s.activeTemps.remove(local.name)
                    done.append(CommittedBlob(digest: digest, size: local.size, deduplicated: deduplicated))
                }
            } catch {
                s.unpin(done.map(\.digest) + [locals[done.count].1])
                throw error
            }
            return done
        }
        try syncBatch(done)
        return done
    }

    /// Creates a blob's fan-out folder unless it is known to exist. Holds the state lock.
    private func makeFolder(of digest: BlobDigest, _ s: inout State) throws {
        let folder = folder(of: digest)
        guard !s.folders.contains(folder) else { return }
        try FileIO.makeDirectory(folder)
        s.folders.insert(folder)
    }

    /// One flush for a committed batch (file data, renames, new folders, the small-blob
    /// table's log); on failure the batch's pins are undone.
    private func syncBatch(_ done: [CommittedBlob]) throws {
        do { try flush() } catch {
            unpin(done.map(\.digest))
            throw error
        }
    }

    /// `syncfs` of the store's filesystem: files, renames and the small-blob table's log.
    public func flush() throws {
        let fd = open(blobsPath, O_RDONLY | O_DIRECTORY)
        defer { if fd >= 0 { close(fd) } }
        guard fd >= 0, vf_sync_filesystem(fd) == 0 else { throw FileIO.failure(blobsPath, "syncfs") }
    }

    public func checkpoint() throws { try small.checkpoint() }

    public func materialize(_ digest: BlobDigest, at url: URL) throws { try materialize(digest, atPath: url.path) }

    public func materialize(_ digest: BlobDigest, atPath target: String) throws {
        if let data = try small.data(of: [digest])[0] {
            try Self.verify(data, digest)
            guard FileManager.default.createFile(atPath: target, contents: data) else { throw FileIO.failure(target, "write blob \(digest)") }
            return
        }
        guard link(path(of: digest), target) == 0 else {
            if errno == ENOENT, FileIO.fileSize(path(of: digest)) == nil { throw StoreError.blobNotFound(digest.description) }
            throw FileIO.failure(target, "hard link to blob \(digest)")
        }
    }

    public func unpin(_ digests: [BlobDigest]) {
        state.withLock { $0.unpin(digests) }
    }

    public func contains(_ digest: BlobDigest) -> Bool { (try? size(of: digest)) != nil }

    public func size(of digest: BlobDigest) throws -> Int64 {
        if let size = try FileIO.fileSize(path(of: digest)) ?? small.size(of: digest) { return size }
        throw StoreError.blobNotFound(digest.description)
    }

    public func openReader(_ digest: BlobDigest) throws -> any BlobReader {
        if let data = try small.data(of: [digest])[0] { return try DataBlobReader(data: data, digest: digest) }
        return try LocalBlobReader(path: path(of: digest), digest: digest)
    }

    public func readAll(_ digests: [BlobDigest]) throws -> [Data] {
        let rows = try small.data(of: digests)
        return try zip(digests, rows).map { digest, row in
            if let row {
                try Self.verify(row, digest)
                return row
            }
            return try readWhole(digest)
        }
    }

    /// `integrity` unless `data` hashes to `digest`.
    static func verify(_ data: Data, _ digest: BlobDigest) throws {
        let actual = SHA256Stream.digest(of: data)
        guard actual == digest else { throw StoreError.integrity(digest: digest.description, actual: actual.description) }
    }

    /// Every stored digest with its size (a blob in both places is listed twice).
    public func list() throws -> [(digest: BlobDigest, size: Int64)] { try small.list() + fileList() }

    /// The blobs stored as files.
    private func fileList() -> [(digest: BlobDigest, size: Int64)] {
        var out: [(BlobDigest, Int64)] = []
        guard let walker = FileManager.default.enumerator(atPath: blobsPath) else { return [] }
        while let relative = walker.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            guard let digest = try? BlobDigest(parsing: name), let size = FileIO.fileSize(blobsPath + "/" + relative) else { continue }
            out.append((digest, size))
        }
        return out
    }

    public func collectGarbage(dryRun: Bool, referenced: () throws -> Set<BlobDigest>) throws -> GarbageReport {
        try state.withLock { s throws -> GarbageReport in
            let keep = try referenced()
            var report = GarbageReport()
            var rows: [BlobDigest] = []
            for (digest, size) in try small.list() {
                if keep.contains(digest) || s.pins[digest] != nil {
                    report.blobsKept += 1
                    continue
                }
                rows.append(digest)
                report.blobsRemoved += 1
                report.bytesFreed += size
            }
            if !dryRun { try small.delete(rows) }
            for (digest, size) in fileList() {
                if keep.contains(digest) || s.pins[digest] != nil {
                    report.blobsKept += 1
                    continue
                }
                if !dryRun {
                    guard unlink(path(of: digest)) == 0 else { throw FileIO.failure(path(of: digest), "remove") }
                }
                report.blobsRemoved += 1
                report.bytesFreed += size
            }
            for name in (try? FileManager.default.contentsOfDirectory(atPath: tempPath)) ?? [] where !s.activeTemps.contains(name) {
                if !dryRun { unlink(tempPath + "/" + name) }
                report.tempFilesRemoved += 1
            }
            // `storeAll` writes beside the final name under this lock: any `.part` there is a crash's leftover.
            let walker = FileManager.default.enumerator(atPath: blobsPath)
            while let relative = walker?.nextObject() as? String {
                guard relative.hasSuffix(".part") else { continue }
                if !dryRun { unlink(blobsPath + "/" + relative) }
                report.tempFilesRemoved += 1
            }
            return report
        }
    }
}
