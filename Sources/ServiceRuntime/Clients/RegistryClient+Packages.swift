import FleetProtos
import FleetRPC
import FleetStore
import Foundation

/// Progress of a transfer: bytes done, bytes in all.
public typealias TransferProgress = @Sendable (Int64, Int64) -> Void

public enum PackageTransferError: Error, CustomStringConvertible {
    case unreadable(String)
    case digestMismatch(path: String, expected: String, actual: String)
    case incomplete(String)

    public var description: String {
        switch self {
        case .unreadable(let m): m
        case .digestMismatch(let path, let expected, let actual): "\(path): received bytes hash to \(actual), the registry says \(expected)"
        case .incomplete(let m): m
        }
    }
}

extension RegistryClient {
    /// Uploads the package folder that `vf train-local` writes: `manifest.json` in the header,
    /// then each file the manifest names, streamed from disk in 1 MiB chunks with the manifest's
    /// digest on its last chunk (a file changed on disk since is refused by the server).
    public func upload(directory: URL, model: String, aliases: [String] = [], description: String = "",
                       tags: [String: String] = [:], progress: TransferProgress? = nil) async throws -> Visionfleet_V1_ModelVersion {
        let manifestURL = directory.appendingPathComponent("manifest.json")
        guard let manifestData = try? Data(contentsOf: manifestURL), let manifestText = String(data: manifestData, encoding: .utf8) else {
            throw PackageTransferError.unreadable("\(manifestURL.path): cannot read the package manifest")
        }
        guard let object = try JSONSerialization.jsonObject(with: manifestData) as? [String: Any],
              let files = object["files"] as? [String: String] else {
            throw PackageTransferError.unreadable("\(manifestURL.path): no 'files' map")
        }
        let paths = files.keys.sorted()
        var total: Int64 = 0
        for path in paths {
            guard let size = try? FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent(path).path)[.size] as? Int else {
                throw PackageTransferError.unreadable("\(directory.appendingPathComponent(path).path): named by the manifest but missing")
            }
            total += Int64(size)
        }
        var header = Visionfleet_V1_UploadVersionHeader()
        header.model = model
        header.manifestJson = manifestText
        header.aliases = aliases
        header.description_p = description
        header.tags = tags
        let response: ClientResponse<Visionfleet_V1_ModelVersion> = try await rpc.clientStreaming(Methods.uploadVersion.path) {
            (writer: ClientRequestWriter<Visionfleet_V1_UploadVersionRequest>) in
            try await writer.write(.with { $0.header = header })
            var sent: Int64 = 0
            for path in paths {
                let url = directory.appendingPathComponent(path)
                guard let handle = try? FileHandle(forReadingFrom: url) else { throw PackageTransferError.unreadable("\(url.path): cannot open") }
                defer { try? handle.close() }
                var offset: Int64 = 0
                var pending = try handle.read(upToCount: Self.chunkSize) ?? Data()
                while true {
                    let next = pending.isEmpty ? Data() : (try handle.read(upToCount: Self.chunkSize) ?? Data())
                    var chunk = Visionfleet_V1_FileChunk()
                    if offset == 0 { chunk.path = path; chunk.totalSize = 0 }
                    chunk.offset = offset
                    chunk.data = pending
                    offset += Int64(pending.count)
                    if next.isEmpty {
                        chunk.last = true
                        // The manifest's digest: the server hashes the bytes it receives and refuses a mismatch.
                        chunk.digest = files[path]!
                        chunk.totalSize = offset
                        if chunk.path.isEmpty { chunk.path = path }
                    }
                    try await writer.write(.with { $0.chunk = chunk })
                    sent += Int64(pending.count)
                    progress?(sent, total)
                    if next.isEmpty { break }
                    pending = next
                }
            }
        }
        return response.message
    }

    /// Downloads a version's files into `directory` (each written to a temp name, its digest
    /// checked, then renamed); returns the version.
    @discardableResult
    public func download(_ ref: Visionfleet_V1_ModelRef, to directory: URL, paths: [String] = [],
                         progress: TransferProgress? = nil) async throws -> Visionfleet_V1_ModelVersion {
        let version = try await self.version(ref)
        var exact = Visionfleet_V1_ModelRef()
        exact.name = version.model
        exact.version = version.version
        let total = version.files.filter { paths.isEmpty || paths.contains($0.path) }.reduce(Int64(0)) { $0 + $1.size }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try await rpc.serverStreaming(Methods.downloadVersion.path, Visionfleet_V1_DownloadVersionRequest.with {
            $0.ref = exact; $0.paths = paths
        }, as: Visionfleet_V1_FileChunk.self) { stream in
            var current: (path: String, handle: FileHandle, temp: URL, hasher: SHA256Stream)?
            var received: Int64 = 0
            defer { if let current { try? current.handle.close(); try? FileManager.default.removeItem(at: current.temp) } }
            for try await chunk in stream {
                if current == nil {
                    let target = directory.appendingPathComponent(chunk.path)
                    try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                    let temp = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).part")
                    _ = FileManager.default.createFile(atPath: temp.path, contents: nil)
                    current = (chunk.path, try FileHandle(forWritingTo: temp), temp, SHA256Stream())
                }
                guard let file = current else { continue }
                try file.handle.write(contentsOf: chunk.data)
                file.hasher.update(chunk.data)
                received += Int64(chunk.data.count)
                progress?(received, total)
                if chunk.last {
                    try file.handle.close()
                    let actual = file.hasher.finish().description
                    guard actual == chunk.digest else {
                        throw PackageTransferError.digestMismatch(path: file.path, expected: chunk.digest, actual: actual)
                    }
                    let target = directory.appendingPathComponent(file.path)
                    _ = try? FileManager.default.removeItem(at: target)
                    try FileManager.default.moveItem(at: file.temp, to: target)
                    current = nil
                }
            }
            if let file = current { throw PackageTransferError.incomplete("the download ended inside \(file.path)") }
        }
        return version
    }
}
