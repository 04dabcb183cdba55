import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Lists the regular files under a folder (recursively, hidden entries skipped), straight from
/// readdir: a 70,000-file dataset is walked in a fraction of the time `FileManager`'s
/// enumerator with resource values takes. The folders of each depth are listed on every core
/// (an import's walk runs before its first byte is sent).
public enum FolderWalker {
    public struct Entry: Sendable { public var path: String; public var size: Int64 }

    /// Every regular file with its size (a `stat` per file).
    public static func files(under root: String) throws -> [Entry] {
        try walk(root, sizes: true)
    }

    /// Every regular file's path, without sizes: the entry types come with the listing, so
    /// only symbolic links and file systems that do not report types cost a `stat` (an
    /// import's reader learns each size from the open file: a path lookup per file saved).
    public static func paths(under root: String) throws -> [String] {
        try walk(root, sizes: false).map(\.path)
    }

    private static func walk(_ root: String, sizes: Bool) throws -> [Entry] {
        var out: [Entry] = []
        var level: [(path: String, prefix: String)] = [(root, "")]
        while !level.isEmpty {
            let folders = level
            let listed = ConcurrentSlots<Result<Listing, any Error>>(count: folders.count)
            DispatchQueue.concurrentPerform(iterations: folders.count) { i in
                listed.set(i, Result { try list(folders[i].path, prefix: folders[i].prefix, sizes: sizes) })
            }
            var next: [(path: String, prefix: String)] = []
            for (folder, result) in zip(folders, listed.values) {
                let listing = try result!.get()
                out += listing.files
                next += listing.folders.map { (folder.path + "/" + $0, folder.prefix + $0 + "/") }
            }
            level = next
        }
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

    private struct Listing { var files: [Entry] = []; var folders: [String] = [] }

    /// One folder's regular files (size -1 unless `sizes`) and subfolders.
    private static func list(_ folder: String, prefix: String, sizes: Bool) throws -> Listing {
        guard let dir = opendir(folder) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: folder])
        }
        defer { closedir(dir) }
        let fd = dirfd(dir)
        var listing = Listing()
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix(".") { continue }
            if !sizes {
                switch Int32(entry.pointee.d_type) {
                case Int32(DT_REG):
                    listing.files.append(Entry(path: prefix + name, size: -1))
                    continue
                case Int32(DT_DIR):
                    listing.folders.append(name)
                    continue
                case Int32(DT_LNK), Int32(DT_UNKNOWN): break  // followed / asked below
                default: continue
                }
            }
            var info = stat()
            guard fstatat(fd, name, &info, 0) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFREG: listing.files.append(Entry(path: prefix + name, size: sizes ? Int64(info.st_size) : -1))
            case S_IFDIR: listing.folders.append(name)
            default: continue
            }
        }
        return listing
    }
}
