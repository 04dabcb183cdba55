import Foundation
import VisionData

/// The upload as a format's reader sees it: the staging folder on disk (annotation files, large
/// images) plus the small images, which live in the blob store and appear under their uploaded
/// paths without a file each.
struct UploadFileView: DatasetFileView {
    /// Absolute folder path → the names the held images add to it (files, and the folders
    /// they lie in), with their kinds. Every folder above a held image is a key.
    private let children: [String: [String: DatasetFileKind]]
    /// The same names per folder in the order they were added: arrival order, which a client
    /// sends sorted, so a reader's sort of a listing finds it (nearly) in order.
    private let order: [String: [(name: String, kind: DatasetFileKind)]]
    private let disk = DiskFileView()

    /// `root`: the staging folder (absolute, standardized); `images`: paths relative to it,
    /// best in arrival order (images of one folder together).
    init<Paths: Sequence<String>>(root: String, images: Paths) {
        var children: [String: [String: DatasetFileKind]] = [root: [:]]
        var order: [String: [(name: String, kind: DatasetFileKind)]] = [root: []]
        // The folder being filled, taken out of `children` and `order` while it is (no copy on write).
        var folder: Substring?
        var absolute = root
        var names: [String: DatasetFileKind] = [:]
        var listed: [(name: String, kind: DatasetFileKind)] = []
        for relative in images {
            let path = Substring(relative)
            // Searched as bytes: a Character search walks grapheme breaks, once per image.
            let slash = path.utf8.lastIndex(of: UInt8(ascii: "/"))
            let parent = slash.map { path[..<$0] } ?? ""
            if parent != folder {
                if folder != nil {
                    children[absolute] = names
                    order[absolute] = listed
                }
                folder = parent
                absolute = parent.isEmpty ? root : root + "/" + parent
                names = children.removeValue(forKey: absolute) ?? [:]
                listed = order.removeValue(forKey: absolute) ?? []
            }
            let name = String(slash.map { path[path.utf8.index(after: $0)...] } ?? path)
            if names.updateValue(.file, forKey: name) == nil { listed.append((name, .file)) }
        }
        if folder != nil {
            children[absolute] = names
            order[absolute] = listed
        }
        // Each folder above a held image, up to the root, stopping at one already linked.
        for path in Array(children.keys) {
            var path = path
            while path.count > root.count, let slash = path.lastIndex(of: "/") {
                let parent = String(path[..<slash])
                let name = String(path[path.index(after: slash)...])
                if children[parent]?[name] != nil { break }
                children[parent, default: [:]][name] = .folder
                order[parent, default: []].append((name, .folder))
                path = parent
            }
        }
        self.children = children
        self.order = order
    }

    func kind(atPath path: String) -> DatasetFileKind? {
        let path = Self.trimmed(path)
        if children[path] != nil { return .folder }
        if let slash = path.lastIndex(of: "/"), let kind = children[String(path[..<slash])]?[String(path[path.index(after: slash)...])] {
            return kind
        }
        return disk.kind(atPath: path)
    }

    func contentsOfDirectory(atPath path: String) -> [String]? {
        entries(atPath: path)?.map(\.name)
    }

    func entries(atPath path: String) -> [(name: String, kind: DatasetFileKind)]? {
        let path = Self.trimmed(path)
        let onDisk = disk.entries(atPath: path)
        guard let held = children[path], var all = order[path] else { return onDisk }
        for (name, kind) in onDisk ?? [] where held[name] == nil { all.append((name, kind)) }
        return all
    }

    /// Without trailing slashes, `.` segments and `..` with the segment before it (a reader
    /// joins `path: .` from a data.yaml; a folder's URL may end in a slash).
    static func trimmed(_ path: String) -> String {
        guard path.contains("/.") || path.contains("//") || (path.count > 1 && path.hasSuffix("/")) else { return path }
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }
}
