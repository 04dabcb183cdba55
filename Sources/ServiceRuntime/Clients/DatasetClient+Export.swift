import FleetProtos
import FleetRPC
import FleetStore
import Foundation

extension DatasetClient {
    /// Exports a version in `format` and unpacks the tar stream into `folder` (created),
    /// checking the archive's SHA-256. Returns the files written.
    @discardableResult
    public func exportDataset(_ ref: Visionfleet_V1_DatasetRef, format: Visionfleet_V1_DatasetFormat, to folder: URL,
                              includeImages: Bool = true, progress: (@Sendable (Int64) -> Void)? = nil) async throws -> [String] {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let request = Visionfleet_V1_ExportDatasetRequest.with { $0.ref = ref; $0.format = format; $0.includeImages = includeImages }
        return try await rpc.serverStreaming(Methods.exportDataset.path, request, as: Visionfleet_V1_FileChunk.self) { stream in
            let extractor = TarExtractor(folder: folder)
            let hasher = SHA256Stream()
            var received: Int64 = 0
            for try await chunk in stream {
                guard chunk.offset == received else {
                    throw RPCError(code: .dataLoss, message: "export stream: expected offset \(received), got \(chunk.offset)")
                }
                hasher.update(chunk.data)
                try extractor.feed(chunk.data)
                received += Int64(chunk.data.count)
                progress?(received)
                if chunk.last {
                    let digest = hasher.finish().description
                    guard chunk.digest == digest else {
                        throw RPCError(code: .dataLoss, message: "export stream: the archive hashes to \(digest), the server says \(chunk.digest)")
                    }
                    try extractor.finish()
                    return extractor.files
                }
            }
            throw RPCError(code: .dataLoss, message: "export stream ended before its last chunk")
        }
    }

    /// Renders the synthetic shapes detection dataset in vf-ingest as a version of `name`.
    public func generateSynthetic(name: String, count: Int32, imageSize: Int32 = 0, seed: UInt64 = 0,
                                  options: Visionfleet_V1_ImportOptions = .init(), description: String = "") async throws
        -> Visionfleet_V1_ImportDatasetResponse {
        try await rpc.unary(Methods.generateSynthetic.path, Visionfleet_V1_GenerateSyntheticRequest.with {
            $0.dataset = name; $0.count = count; $0.imageSize = imageSize; $0.seed = seed; $0.options = options
            $0.description_p = description
        })
    }
}
