import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Lists the regular files under a folder (recursively, hidden entries skipped) with their
/// sizes, straight from readdir/fstatat: a 70,000-file dataset is walked in a fraction of the
/// time `FileManager`'s enumerator with resource values takes.
public enum FolderWalker {
    public struct Entry: Sendable { public var path: String; public var size: Int64 }

    public static func files(under root: String) throws -> [Entry] {
        var out: [Entry] = []
        try walk(root, prefix: "", into: &out)
        return out
    }

    /// The lowercased extension of a path's last part ("" when none), read as bytes: it runs
    /// once per file of a 70,000-file upload, where `NSString`'s path methods cost more than
    /// the walk.
    public static func lowercasedExtension(of path: String) -> String {
        let bytes = path.utf8
        guard let dot = bytes.lastIndex(of: UInt8(ascii: ".")), !bytes[dot...].contains(UInt8(ascii: "/")) else { return "" }
        return String(decoding: bytes[bytes.index(after: dot)...], as: UTF8.self).lowercased()
    }

    /// Reads a whole small file.
    public static func read(_ path: String, size: Int) throws -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path]) }
        defer { close(fd) }
        var data = Data(count: size)
        var done = 0
        try data.withUnsafeMutableBytes { raw in
            while done < size {
                let n = Glibc.read(fd, raw.baseAddress! + done, size - done)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: path]) }
                done += n
            }
        }
        return data
    }

    private static func walk(_ folder: String, prefix: String, into out: inout [Entry]) throws {
        guard let dir = opendir(folder) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: folder])
        }
        defer { closedir(dir) }
        let fd = dirfd(dir)
        var subfolders: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix(".") { continue }
            var info = stat()
            guard fstatat(fd, name, &info, 0) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFREG: out.append(Entry(path: prefix + name, size: Int64(info.st_size)))
            case S_IFDIR: subfolders.append(name)
            default: continue
            }
        }
        for name in subfolders { try walk(folder + "/" + name, prefix: prefix + name + "/", into: &out) }
    }
}
