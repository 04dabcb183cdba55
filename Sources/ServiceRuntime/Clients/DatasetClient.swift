import FleetProtos
import FleetRPC
import Foundation

/// A typed client of vf-ingest (`visionfleet.v1.DatasetService`), with an import that walks a
/// dataset folder and streams the files its format uses.
public struct DatasetClient: Sendable {
    typealias Methods = ServiceCatalog.DatasetService
    public static let defaultAddress = "127.0.0.1:50051"
    public static let chunkSize = 1 << 20

    public let rpc: RPCClient

    public init(rpc: RPCClient) { self.rpc = rpc }

    /// `address` or `VF_INGEST_ADDR` or 127.0.0.1:50051; a bearer token from `token` or `VISIONFLEET_TOKEN`.
    public init(address: String? = nil, token: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        rpc = try FleetClientConnection.client(address: address, variable: "VF_INGEST_ADDR", defaultAddress: Self.defaultAddress,
                                               token: token, environment: environment)
    }

    public func dataset(_ name: String) async throws -> Visionfleet_V1_Dataset {
        try await rpc.unary(Methods.getDataset.path, Visionfleet_V1_GetDatasetRequest.with { $0.name = name })
    }

    public func listDatasets(task: Visionfleet_V1_TaskType = .unspecified) async throws -> [Visionfleet_V1_Dataset] {
        try await FleetClientConnection.allPages { token in
            let page: Visionfleet_V1_ListDatasetsResponse = try await rpc.unary(Methods.listDatasets.path, Visionfleet_V1_ListDatasetsRequest.with {
                $0.task = task; $0.page.pageToken = token
            })
            return (page.datasets, page.page.nextPageToken)
        }
    }

    public func versions(_ name: String) async throws -> [Visionfleet_V1_DatasetVersion] {
        let page: Visionfleet_V1_ListDatasetVersionsResponse = try await rpc.unary(
            Methods.listDatasetVersions.path, Visionfleet_V1_ListDatasetVersionsRequest.with { $0.dataset = name; $0.page.pageSize = 1000 })
        return page.versions
    }

    public func version(_ ref: Visionfleet_V1_DatasetRef) async throws -> Visionfleet_V1_DatasetVersion {
        try await rpc.unary(Methods.getDatasetVersion.path, Visionfleet_V1_GetDatasetVersionRequest.with { $0.ref = ref })
    }

    public func deleteDataset(_ name: String) async throws {
        let _: Visionfleet_V1_DeleteDatasetResponse = try await rpc.unary(Methods.deleteDataset.path,
                                                                          Visionfleet_V1_DeleteDatasetRequest.with { $0.name = name })
    }

    /// Every item of a version (of one split), in the version's order.
    public func items(_ ref: Visionfleet_V1_DatasetRef, split: Visionfleet_V1_Split = .unspecified) async throws -> [Visionfleet_V1_DatasetItem] {
        try await rpc.serverStreaming(Methods.listItems.path, Visionfleet_V1_ListItemsRequest.with { $0.ref = ref; $0.split = split },
                                      as: Visionfleet_V1_DatasetItem.self) { stream in
            var out: [Visionfleet_V1_DatasetItem] = []
            for try await item in stream { out.append(item) }
            return out
        }
    }

    /// A stored blob's bytes (at most `maxBytes`), by digest ("sha256:<hex>").
    public func blob(_ digest: String, maxBytes: Int = 256 << 20) async throws -> Data {
        try await rpc.serverStreaming(Methods.downloadBlob.path, Visionfleet_V1_DownloadBlobRequest.with { $0.digest = digest },
                                      as: Visionfleet_V1_FileChunk.self) { stream in
            var out = Data()
            for try await chunk in stream {
                out.append(chunk.data)
                guard out.count <= maxBytes else { throw RPCError(code: .resourceExhausted, message: "\(digest) is over \(maxBytes) bytes") }
            }
            return out
        }
    }

    /// Streams samples (items with image bytes) from `offset`; `body` returns false to stop.
    public func streamSamples(_ ref: Visionfleet_V1_DatasetRef, split: Visionfleet_V1_Split = .unspecified, offset: Int64 = 0,
                              batchItems: Int32 = 0, body: (Visionfleet_V1_SampleBatch) async throws -> Bool) async throws {
        try await rpc.serverStreaming(Methods.streamSamples.path, Visionfleet_V1_StreamSamplesRequest.with {
            $0.ref = ref; $0.split = split; $0.offset = offset; $0.batchItems = batchItems
        }, as: Visionfleet_V1_SampleBatch.self) { stream in
            for try await batch in stream where try await !body(batch) { return }
        }
    }

    /// The problems of a rejected import, from its error's `vf-import-response-bin` metadata.
    public static func rejection(_ error: RPCError) -> Visionfleet_V1_ImportDatasetResponse? {
        guard let bytes = error.metadata.binaryValues(for: "vf-import-response-bin").first else { return nil }
        return try? Visionfleet_V1_ImportDatasetResponse(serializedBytes: bytes)
    }
}
