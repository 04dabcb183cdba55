import Foundation
import VisionData

/// The upload as a format's reader sees it: the staging folder on disk (annotation files, large
/// images) plus the small images, which live in the blob store and appear under their uploaded
/// paths without a file each.
struct UploadFileView: DatasetFileView {
    /// Absolute folder path → the names the held images add to it (files, and the folders
    /// they lie in), with their kinds. Every folder above a held image is a key.
    private let children: [String: [String: DatasetFileKind]]
    private let disk = DiskFileView()

    /// `root`: the staging folder (absolute, standardized); `images`: paths relative to it,
    /// best in arrival order (images of one folder together).
    init<Paths: Sequence<String>>(root: String, images: Paths) {
        var children: [String: [String: DatasetFileKind]] = [root: [:]]
        // The folder being filled, taken out of `children` while it is (no copy on write).
        var folder: Substring?
        var absolute = root
        var names: [String: DatasetFileKind] = [:]
        for relative in images {
            let path = Substring(relative)
            let slash = path.lastIndex(of: "/")
            let parent = slash.map { path[..<$0] } ?? ""
            if parent != folder {
                if folder != nil { children[absolute] = names }
                folder = parent
                absolute = parent.isEmpty ? root : root + "/" + parent
                names = children.removeValue(forKey: absolute) ?? [:]
            }
            names[String(slash.map { path[path.index(after: $0)...] } ?? path)] = .file
        }
        if folder != nil { children[absolute] = names }
        // Each folder above a held image, up to the root, stopping at one already linked.
        for path in Array(children.keys) {
            var path = path
            while path.count > root.count, let slash = path.lastIndex(of: "/") {
                let parent = String(path[..<slash])
                let name = String(path[path.index(after: slash)...])
                if children[parent]?[name] != nil { break }
                children[parent, default: [:]][name] = .folder
                path = parent
            }
        }
        self.children = children
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
        guard let held = children[path] else { return onDisk }
        var all = held
        for (name, kind) in onDisk ?? [] where all[name] == nil { all[name] = kind }
        return all.map { ($0.key, $0.value) }
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
