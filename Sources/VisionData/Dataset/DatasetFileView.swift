import Foundation

/// What a reader sees of the files it reads: which paths exist, what a folder holds. The disk
/// by default; a server reading an upload gives a view in which the images it holds in its
/// store appear under their uploaded paths without a file each. Annotation files are read
/// from disk either way.
public protocol DatasetFileView: Sendable {
    /// Whether `path` (absolute) names a file or a folder; nil when neither.
    func kind(atPath path: String) -> DatasetFileKind?
    /// The names in the folder `path` (absolute), unsorted; nil when it is not a folder.
    func contentsOfDirectory(atPath path: String) -> [String]?
    /// The folder's names with their kinds (what `readdir` gives); nil when it is not a folder.
    func entries(atPath path: String) -> [(name: String, kind: DatasetFileKind)]?
}

public enum DatasetFileKind: Sendable { case file, folder }

extension DatasetFileView {
    public func fileExists(atPath path: String) -> Bool { kind(atPath: path) != nil }
    public func isFolder(atPath path: String) -> Bool { kind(atPath: path) == .folder }

    public func entries(atPath path: String) -> [(name: String, kind: DatasetFileKind)]? {
        contentsOfDirectory(atPath: path)?.compactMap { name in kind(atPath: path + "/" + name).map { (name, $0) } }
    }

    /// Every file under `folder`, recursively, as paths relative to it (hidden names skipped).
    public func files(under folder: String) -> [String] {
        var out: [String] = []
        var pending = [""]
        while let relative = pending.popLast() {
            let absolute = relative.isEmpty ? folder : folder + "/" + relative
            for (name, kind) in entries(atPath: absolute) ?? [] where !name.hasPrefix(".") {
                let child = relative.isEmpty ? name : relative + "/" + name
                switch kind {
                case .folder: pending.append(child)
                case .file: out.append(child)
                }
            }
        }
        return out
    }
}

/// The filesystem as it is.
public struct DiskFileView: DatasetFileView {
    public init() {}

    public func kind(atPath path: String) -> DatasetFileKind? {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { return nil }
        return isFolder.boolValue ? .folder : .file
    }

    public func contentsOfDirectory(atPath path: String) -> [String]? {
        try? FileManager.default.contentsOfDirectory(atPath: path)
    }
}
