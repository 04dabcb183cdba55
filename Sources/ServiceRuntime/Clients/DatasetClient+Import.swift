import FleetProtos
import FleetRPC
import FleetStore
import Foundation

extension DatasetClient {
    /// What an import sends: the folder, the annotation file within it, and the files.
    public struct ImportPlan: Sendable {
        public var root: URL
        public var annotationPath: String
        public var files: [String]
    }

    /// How far an import's upload has come.
    public struct ImportProgress: Sendable {
        public var filesSent: Int
        public var files: Int
        public var bytesSent: Int64
    }

    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// The files a format uses under `path` (a folder, or the annotation file of COCO, CSV and
    /// Label Studio): images plus that format's annotation files; hidden files are skipped.
    public static func plan(path: URL, format: Visionfleet_V1_DatasetFormat) throws -> ImportPlan {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path.path, isDirectory: &isFolder) else {
            throw RPCError(code: .invalidArgument, message: "\(path.path): no such file or folder")
        }
        let root = isFolder.boolValue ? path : path.deletingLastPathComponent()
        var annotation = isFolder.boolValue ? "" : path.lastPathComponent
        var kept: [String] = []
        for relative in try FolderWalker.paths(under: root.standardizedFileURL.path) {
            let ext = FolderWalker.lowercasedExtension(of: relative)
            let keep: Bool = imageExtensions.contains(ext) || relative == annotation || {
                switch format {
                case .yolo: return ["yaml", "yml", "txt", "names", "data", "json"].contains(ext)
                case .voc: return ["xml", "txt"].contains(ext)
                case .cvat: return annotation.isEmpty && ext == "xml"
                case .csv: return ["txt", "csv"].contains(ext)
                case .idx: return (relative.split(separator: "/").last ?? "").contains("-ubyte") || relative == "classes.txt"
                case .coco: return annotation.isEmpty && ext == "json"
                case .labelStudio: return annotation.isEmpty && (ext == "json" || ext == "csv")
                default: return false
                }
            }()
            guard keep else { continue }
            kept.append(relative)
        }
        kept.sort()
        if annotation.isEmpty {
            switch format {
            case .coco where kept.contains(where: { Self.isCOCOSubset($0) }):
                // CVAT / Datumaro layout: every subset's file, read together (no single annotation file).
                kept.removeAll { $0.hasSuffix(".json") && !Self.isCOCOSubset($0) }
            case .coco:
                let jsons = kept.filter { $0.hasSuffix(".json") }
                annotation = jsons.first { $0.contains("instances") || $0.hasPrefix("annotations") } ?? jsons.first ?? ""
                kept.removeAll { $0.hasSuffix(".json") && $0 != annotation }
            case .labelStudio:
                let exports = kept.filter { $0.hasSuffix(".json") || $0.hasSuffix(".csv") }
                annotation = exports.first { !$0.contains("/") } ?? exports.first ?? ""
                kept.removeAll { ($0.hasSuffix(".json") || $0.hasSuffix(".csv")) && $0 != annotation }
            case .csv:
                annotation = kept.first { $0.hasSuffix(".csv") || $0 == "list.txt" } ?? ""
            case .yolo:
                annotation = kept.first { $0 == "data.yaml" } ?? ""
            default: break
            }
        }
        return ImportPlan(root: root, annotationPath: annotation, files: kept)
    }

    static func isCOCOSubset(_ path: String) -> Bool {
        path.hasPrefix("annotations/instances_") && path.hasSuffix(".json") && !path.dropFirst(12).contains("/")
    }

    /// Imports a dataset folder (or annotation file) as a new version of `name`.
    public func importDataset(path: URL, name: String, format: Visionfleet_V1_DatasetFormat, task: Visionfleet_V1_TaskType = .unspecified,
                              options: Visionfleet_V1_ImportOptions = .init(), description: String = "",
                              progress: (@Sendable (ImportProgress) -> Void)? = nil) async throws -> Visionfleet_V1_ImportDatasetResponse {
        let plan = try Self.plan(path: path, format: format)
        let header = Visionfleet_V1_ImportHeader.with {
            $0.dataset = name; $0.task = task; $0.format = format; $0.annotationPath = plan.annotationPath
            $0.options = options; $0.description_p = description; $0.fileCount = Int64(plan.files.count)
        }
        let response: ClientResponse<Visionfleet_V1_ImportDatasetResponse> = try await rpc.clientStreaming(Methods.importDataset.path) {
            (writer: ClientRequestWriter<Visionfleet_V1_ImportDatasetRequest>) in
            try await writer.write(.with { $0.header = header })
            var sent = ImportProgress(filesSent: 0, files: plan.files.count, bytesSent: 0)
            // Small files travel many to a message (up to ~1 MiB or 1,024 files), read ahead on
            // several threads straight into the serialized messages; large ones in 1 MiB chunks.
            let reader = ImportMessageReader(root: plan.root.standardizedFileURL.path, files: plan.files,
                                             maxFileBytes: Self.chunkSize, messageBytes: Self.chunkSize, messageFiles: 1024)
            defer { reader.cancel() }
            while let part = try reader.next() {
                switch part {
                case .message(let bytes, let files, let size):
                    try await writer.write(serialized: bytes)
                    sent.filesSent += files.count
                    sent.bytesSent += size
                    progress?(sent)
                case .large(let i):
                    let file = plan.files[i]
                    let handle = try FileHandle(forReadingFrom: plan.root.appendingPathComponent(file))
                    defer { try? handle.close() }
                    var offset: Int64 = 0
                    var pending = try handle.read(upToCount: Self.chunkSize) ?? Data()
                    while true {
                        let next = pending.count < Self.chunkSize ? Data() : (try handle.read(upToCount: Self.chunkSize) ?? Data())
                        var chunk = Visionfleet_V1_FileChunk()
                        if offset == 0 { chunk.path = file }
                        chunk.offset = offset
                        chunk.data = pending
                        chunk.last = next.isEmpty
                        offset += Int64(pending.count)
                        try await writer.write(.with { $0.chunk = chunk })
                        sent.bytesSent += Int64(pending.count)
                        if next.isEmpty { sent.filesSent += 1 }
                        progress?(sent)
                        if next.isEmpty { break }
                        pending = next
                    }
                }
            }
        }
        return response.message
    }
}
