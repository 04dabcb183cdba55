import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Thin POSIX helpers with errors that name the path.
enum FileIO {
    static func failure(_ path: String, _ what: String) -> StoreError {
        .io(path: path, message: "\(what): \(String(cString: strerror(errno)))")
    }

    static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw StoreError.io(path: path, message: "cannot create the folder: \(error.localizedDescription)")
        }
    }

    /// fsync of a folder, so a rename into it survives a crash.
    static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw failure(path, "cannot open the folder") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure(path, "fsync") }
    }

    static func fileSize(_ path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw failure(path, "write")
            }
            offset += n
        }
    }
}
