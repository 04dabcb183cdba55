import FleetProtos
import FleetRPC
import FleetStore
import Foundation

/// vf-ingest's `visionfleet.v1.DatasetService`: the RPC edge over `DatasetIngest`.
public struct DatasetRPCService: RPCService {
    typealias Methods = ServiceCatalog.DatasetService
    public let ingest: DatasetIngest
    static let chunkSize = 1 << 20

    public init(ingest: DatasetIngest) { self.ingest = ingest }

    public var serviceName: String { Methods.name }

    static func pageSize(_ requested: Int32) throws -> Int {
        guard let size = PageCursor.size(requested) else {
            throw IngestError.invalidArgument(item: "", field: "page.page_size", message: "must not be negative")
        }
        return size
    }

    static func pageKey(_ token: String) throws -> String? {
        guard let key = PageCursor.decode(token) else {
            throw IngestError.invalidArgument(item: token, field: "page.page_token", message: "not a token this service issued")
        }
        return key
    }

    public func register(into router: inout RPCRouter) {
        let ingest = ingest
        let catalog = ingest.catalog
        router.unary(Methods.createDataset.path) { (request: Visionfleet_V1_CreateDatasetRequest, _) in
            try DatasetNames.check(request.name, field: "name")
            guard request.task == .classification || request.task == .detection else {
                throw IngestError.invalidArgument(item: request.name, field: "task", message: "required: classification or detection")
            }
            return try catalog.createDataset(request, actor: CallPrincipal.auditName, now: Date())
        }
        router.unary(Methods.getDataset.path) { (request: Visionfleet_V1_GetDatasetRequest, _) in
            try catalog.dataset(named: request.name)
        }
        router.unary(Methods.listDatasets.path) { (request: Visionfleet_V1_ListDatasetsRequest, _) in
            let size = try Self.pageSize(request.page.pageSize)
            let (datasets, total) = try catalog.listDatasets(task: request.task, after: try Self.pageKey(request.page.pageToken), limit: size)
            return Visionfleet_V1_ListDatasetsResponse.with {
                $0.datasets = datasets
                $0.page.totalCount = Int64(total)
                if datasets.count == size, let last = datasets.last { $0.page.nextPageToken = PageCursor.encode(last.name) }
            }
        }
        router.unary(Methods.deleteDataset.path) { (request: Visionfleet_V1_DeleteDatasetRequest, _) in
            try await ingest.deleteDataset(named: request.name)
            return Visionfleet_V1_DeleteDatasetResponse()
        }
        router.clientStreaming(Methods.importDataset.path) { (requests: RequestStream<Visionfleet_V1_ImportDatasetRequest>, context) in
            let session = ingest.makeImport()
            do {
                for try await request in requests { try session.receive(request) }
                return try ingest.commit(session, cancelled: context.isCancelled, actor: CallPrincipal.auditName)
            } catch {
                session.discard()
                throw error
            }
        }
        router.unary(Methods.getDatasetVersion.path) { (request: Visionfleet_V1_GetDatasetVersionRequest, _) in
            try catalog.version(request.ref)
        }
        router.unary(Methods.listDatasetVersions.path) { (request: Visionfleet_V1_ListDatasetVersionsRequest, _) in
            let size = try Self.pageSize(request.page.pageSize)
            let after = try Self.pageKey(request.page.pageToken).map { Int32($0) ?? 0 }
            let (versions, total) = try catalog.listVersions(dataset: request.dataset, after: after, limit: size)
            return Visionfleet_V1_ListDatasetVersionsResponse.with {
                $0.versions = versions
                $0.page.totalCount = Int64(total)
                if versions.count == size, let last = versions.last { $0.page.nextPageToken = PageCursor.encode(String(last.version)) }
            }
        }
        router.serverStreaming(Methods.listItems.path) { (request: Visionfleet_V1_ListItemsRequest, writer: ResponseWriter<Visionfleet_V1_DatasetItem>, _) in
            var offset: Int64 = 0
            while true {
                let page = try catalog.items(request.ref, split: request.split, offset: offset, limit: 1000)
                for (_, item) in page { try await writer.write(item) }
                if page.count < 1000 { return }
                offset += Int64(page.count)
            }
        }
        router.serverStreaming(Methods.downloadBlob.path) { (request: Visionfleet_V1_DownloadBlobRequest, writer: ResponseWriter<Visionfleet_V1_FileChunk>, _) in
            try await Self.downloadBlob(request.digest, ingest: ingest, writer: writer)
        }
        router.unary(Methods.generateSynthetic.path) { (request: Visionfleet_V1_GenerateSyntheticRequest, _) in
            try ingest.generateSynthetic(request, actor: CallPrincipal.auditName)
        }
        router.serverStreaming(Methods.exportDataset.path) { (request: Visionfleet_V1_ExportDatasetRequest, writer: ResponseWriter<Visionfleet_V1_FileChunk>, _) in
            try await Self.exportDataset(request, ingest: ingest, writer: writer)
        }
        router.serverStreaming(Methods.streamSamples.path) { (request: Visionfleet_V1_StreamSamplesRequest, writer: ResponseWriter<Visionfleet_V1_SampleBatch>, _) in
            try await Self.streamSamples(request, ingest: ingest, writer: writer)
        }
    }
}
