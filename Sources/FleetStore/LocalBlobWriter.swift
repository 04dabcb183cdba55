import CFileSync
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A temp file being written and hashed; `LocalBlobStore.commit` renames it into the store.
final class LocalBlobWriter: BlobWriter {
    let path: String
    private var fd: Int32
    private let hasher = SHA256Stream()
    private(set) var size: Int64 = 0
    /// Bytes already handed to writeback; the disk works while more bytes arrive.
    private var writebackStarted: Int64 = 0
    static let writebackStep: Int64 = 4 << 20
    private(set) var digest: BlobDigest?
    private var gone = false
    private let onClose: () -> Void

    init(path: String, onClose: @escaping () -> Void) throws {
        self.path = path
        self.onClose = onClose
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileIO.failure(path, "cannot create the temp file") }
    }

    deinit { abort() }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard fd >= 0, digest == nil else { throw StoreError.io(path: path, message: "write after finish or abort") }
        try FileIO.writeAll(fd, bytes, path: path)
        hasher.update(bytes)
        size += Int64(bytes.count)
        if size - writebackStarted >= Self.writebackStep {
            _ = vf_start_writeback(fd, writebackStarted, size - writebackStarted)
            writebackStarted = size
        }
    }

    func finish() throws -> BlobDigest { try finish(sync: true) }

    func finishUnsynced() throws -> BlobDigest { try finish(sync: false) }

    private func finish(sync: Bool) throws -> BlobDigest {
        if let digest { return digest }
        guard fd >= 0 else { throw StoreError.io(path: path, message: "finish after abort") }
        if sync { guard fsync(fd) == 0 else { throw FileIO.failure(path, "fsync") } }
        close(fd)
        fd = -1
        let d = hasher.finish()
        digest = d
        return d
    }

    /// The temp file's name in the store's temp folder.
    var name: String { (path as NSString).lastPathComponent }

    /// The temp file was moved into the store or removed by it (which also forgets it).
    func detach() { gone = true }

    func abort() {
        if fd >= 0 { close(fd); fd = -1 }
        if !gone {
            unlink(path)
            gone = true
            onClose()
        }
    }
}
