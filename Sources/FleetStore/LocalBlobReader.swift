import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a stored blob in chunks and checks its digest at the end.
final class LocalBlobReader: BlobReader {
    let path: String
    let digest: BlobDigest
    let size: Int64
    private var fd: Int32
    private let hasher = SHA256Stream()

    init(path: String, digest: BlobDigest) throws {
        self.path = path
        self.digest = digest
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw StoreError.blobNotFound(digest.description) }
            throw FileIO.failure(path, "cannot open")
        }
        size = FileIO.fileSize(path) ?? 0
    }

    deinit { if fd >= 0 { close(fd) } }

    func read(max: Int) throws -> Data? {
        guard fd >= 0 else { return nil }
        var buffer = Data(count: max)
        var filled = 0
        try buffer.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) throws in
            while filled < max {
                let n = Glibc.read(fd, raw.baseAddress! + filled, max - filled)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileIO.failure(path, "read")
                }
                if n == 0 { break }
                filled += n
            }
        }
        if filled == 0 {
            close(fd)
            fd = -1
            let actual = hasher.finish()
            guard actual == digest else { throw StoreError.integrity(digest: digest.description, actual: actual.description) }
            return nil
        }
        if filled < max { buffer.count = filled }
        hasher.update(buffer)
        return buffer
    }
}
