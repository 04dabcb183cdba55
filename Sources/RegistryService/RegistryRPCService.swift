import FleetProtos
import FleetRPC
import FleetStore
import Foundation

/// vf-registry's `visionfleet.v1.RegistryService`: the RPC edge over `ModelRegistry`. Handlers
/// check requests, call the registry, and leave status mapping to `RegistryError+RPC`.
public struct RegistryRPCService: RPCService {
    typealias Methods = ServiceCatalog.RegistryService
    public let registry: ModelRegistry
    /// Bytes per DownloadVersion chunk.
    static let chunkSize = 1 << 20

    public init(registry: ModelRegistry) { self.registry = registry }

    public var serviceName: String { Methods.name }

    public func register(into router: inout RPCRouter) {
        let registry = registry
        let metadata = registry.metadata
        router.unary(Methods.createModel.path) { (request: Visionfleet_V1_CreateModelRequest, _) in
            try RegistryNames.checkModel(request.name)
            guard request.task != .unspecified else {
                throw RegistryError.invalidArgument(item: request.name, field: "task", message: "required: classification, detection or retrieval")
            }
            let (model, events) = try metadata.createModel(request, actor: CallPrincipal.auditName, now: Date())
            registry.publish(events)
            return model
        }
        router.unary(Methods.getModel.path) { (request: Visionfleet_V1_GetModelRequest, _) in
            try metadata.model(named: request.name)
        }
        router.unary(Methods.listModels.path) { (request: Visionfleet_V1_ListModelsRequest, _) in
            let size = try PageToken.size(request.page.pageSize)
            let (models, total) = try metadata.listModels(task: request.task, after: try PageToken.decode(request.page.pageToken), limit: size)
            return Visionfleet_V1_ListModelsResponse.with {
                $0.models = models
                $0.page.totalCount = Int64(total)
                if models.count == size, let last = models.last { $0.page.nextPageToken = PageToken.encode(last.name) }
            }
        }
        router.unary(Methods.updateModel.path) { (request: Visionfleet_V1_UpdateModelRequest, _) in
            try metadata.updateModel(request, now: Date())
        }
        router.unary(Methods.deleteModel.path) { (request: Visionfleet_V1_DeleteModelRequest, _) in
            registry.publish(try metadata.deleteModel(named: request.name, now: Date()))
            return Visionfleet_V1_DeleteModelResponse()
        }
        router.clientStreaming(Methods.uploadVersion.path) { (requests: RequestStream<Visionfleet_V1_UploadVersionRequest>, context) in
            let session = registry.makeUpload()
            do {
                for try await request in requests { try session.receive(request) }
                return try registry.commit(session, cancelled: context.isCancelled, actor: CallPrincipal.auditName)
            } catch {
                session.discard()
                throw error
            }
        }
        router.unary(Methods.getModelVersion.path) { (request: Visionfleet_V1_GetModelVersionRequest, _) in
            try metadata.version(request.ref)
        }
        router.unary(Methods.listModelVersions.path) { (request: Visionfleet_V1_ListModelVersionsRequest, _) in
            let size = try PageToken.size(request.page.pageSize)
            let after = try PageToken.decode(request.page.pageToken).map { key throws(RegistryError) -> Int32 in
                guard let n = Int32(key) else {
                    throw .invalidArgument(item: request.page.pageToken, field: "page.page_token", message: "not a token this registry issued")
                }
                return n
            }
            let (versions, total) = try metadata.listVersions(model: request.model, after: after, limit: size)
            return Visionfleet_V1_ListModelVersionsResponse.with {
                $0.versions = versions
                $0.page.totalCount = Int64(total)
                if versions.count == size, let last = versions.last { $0.page.nextPageToken = PageToken.encode(String(last.version)) }
            }
        }
        router.unary(Methods.updateModelVersion.path) { (request: Visionfleet_V1_UpdateModelVersionRequest, _) in
            try metadata.updateVersion(request)
        }
        router.unary(Methods.deleteModelVersion.path) { (request: Visionfleet_V1_DeleteModelVersionRequest, _) in
            registry.publish(try metadata.deleteVersion(request.ref, now: Date()))
            return Visionfleet_V1_DeleteModelVersionResponse()
        }
        router.serverStreaming(Methods.downloadVersion.path) { (request: Visionfleet_V1_DownloadVersionRequest, writer: ResponseWriter<Visionfleet_V1_FileChunk>, _) in
            try await Self.download(request, registry: registry, writer: writer)
        }
        router.unary(Methods.setAlias.path) { (request: Visionfleet_V1_SetAliasRequest, _) in
            try RegistryNames.checkAlias(request.alias)
            guard request.version > 0 else {
                throw RegistryError.invalidArgument(item: request.alias, field: "version", message: "a version number ≥ 1")
            }
            guard request.expectedVersion >= -1 else {
                throw RegistryError.invalidArgument(item: request.alias, field: "expected_version",
                                                    message: "0 (unconditional), -1 (must not exist) or a version number")
            }
            let (change, events) = try metadata.setAlias(request, actor: CallPrincipal.auditName, now: Date())
            registry.publish(events)
            return change
        }
        router.unary(Methods.deleteAlias.path) { (request: Visionfleet_V1_DeleteAliasRequest, _) in
            let (change, events) = try metadata.deleteAlias(model: request.model, alias: request.alias, actor: CallPrincipal.auditName, now: Date())
            registry.publish(events)
            return change
        }
        router.unary(Methods.aliasHistory.path) { (request: Visionfleet_V1_AliasHistoryRequest, _) in
            try Visionfleet_V1_AliasHistoryResponse.with {
                $0.changes = try metadata.aliasHistory(model: request.model, alias: request.alias.isEmpty ? nil : request.alias)
            }
        }
        router.serverStreaming(Methods.watchEvents.path) { (request: Visionfleet_V1_WatchEventsRequest, writer: ResponseWriter<Visionfleet_V1_RegistryEvent>, _) in
            try await Self.watch(request, registry: registry, writer: writer)
        }
        router.unary(Methods.garbageCollect.path) { (request: Visionfleet_V1_GarbageCollectRequest, _) in
            let report = try registry.collectGarbage(dryRun: request.dryRun)
            return Visionfleet_V1_GarbageCollectResponse.with {
                $0.blobsRemoved = Int64(report.blobsRemoved)
                $0.bytesFreed = report.bytesFreed
                $0.blobsKept = Int64(report.blobsKept)
                $0.tempFilesRemoved = Int64(report.tempFilesRemoved)
            }
        }
    }
}
