import FleetProtos
import FleetRPC
import FleetStore
import Foundation

/// A typed client of vf-registry (`visionfleet.v1.RegistryService`), with package upload and
/// download that stream files from and to disk.
public struct RegistryClient: Sendable {
    typealias Methods = ServiceCatalog.RegistryService
    public static let defaultAddress = "127.0.0.1:50053"
    public static let chunkSize = 1 << 20

    public let rpc: RPCClient

    public init(rpc: RPCClient) { self.rpc = rpc }

    /// `address` or `VF_REGISTRY_ADDR` or 127.0.0.1:50053; a bearer token from `token` or
    /// `VISIONFLEET_TOKEN`.
    public init(address: String? = nil, token: String? = nil, tls: TLSConfig? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        rpc = try FleetClientConnection.client(address: address, variable: "VF_REGISTRY_ADDR", defaultAddress: Self.defaultAddress,
                                               token: token, tls: tls, environment: environment)
    }

    // MARK: models

    public func createModel(_ name: String, task: Visionfleet_V1_TaskType, description: String = "",
                            tags: [String: String] = [:]) async throws -> Visionfleet_V1_Model {
        try await rpc.unary(Methods.createModel.path, Visionfleet_V1_CreateModelRequest.with {
            $0.name = name; $0.task = task; $0.description_p = description; $0.tags = tags
        })
    }

    public func model(_ name: String) async throws -> Visionfleet_V1_Model {
        try await rpc.unary(Methods.getModel.path, Visionfleet_V1_GetModelRequest.with { $0.name = name })
    }

    /// Every model (all pages), of one task when given.
    public func listModels(task: Visionfleet_V1_TaskType = .unspecified, pageSize: Int32 = 0) async throws -> [Visionfleet_V1_Model] {
        try await FleetClientConnection.allPages { token in
            let page: Visionfleet_V1_ListModelsResponse = try await rpc.unary(Methods.listModels.path, Visionfleet_V1_ListModelsRequest.with {
                $0.task = task; $0.page.pageSize = pageSize; $0.page.pageToken = token
            })
            return (page.models, page.page.nextPageToken)
        }
    }

    public func deleteModel(_ name: String) async throws {
        let _: Visionfleet_V1_DeleteModelResponse = try await rpc.unary(
            Methods.deleteModel.path, Visionfleet_V1_DeleteModelRequest.with { $0.name = name })
    }

    // MARK: versions

    public func version(_ ref: Visionfleet_V1_ModelRef) async throws -> Visionfleet_V1_ModelVersion {
        try await rpc.unary(Methods.getModelVersion.path, Visionfleet_V1_GetModelVersionRequest.with { $0.ref = ref })
    }

    public func listVersions(_ model: String, pageSize: Int32 = 0) async throws -> [Visionfleet_V1_ModelVersion] {
        try await FleetClientConnection.allPages { token in
            let page: Visionfleet_V1_ListModelVersionsResponse = try await rpc.unary(
                Methods.listModelVersions.path, Visionfleet_V1_ListModelVersionsRequest.with {
                    $0.model = model; $0.page.pageSize = pageSize; $0.page.pageToken = token
                })
            return (page.versions, page.page.nextPageToken)
        }
    }

    public func deleteVersion(_ ref: Visionfleet_V1_ModelRef) async throws {
        let _: Visionfleet_V1_DeleteModelVersionResponse = try await rpc.unary(
            Methods.deleteModelVersion.path, Visionfleet_V1_DeleteModelVersionRequest.with { $0.ref = ref })
    }

    // MARK: aliases, events, gc

    public func setAlias(_ model: String, _ alias: String, version: Int32, expected: Int32 = 0, reason: String = "") async throws
        -> Visionfleet_V1_AliasChange {
        try await rpc.unary(Methods.setAlias.path, Visionfleet_V1_SetAliasRequest.with {
            $0.model = model; $0.alias = alias; $0.version = version; $0.expectedVersion = expected; $0.reason = reason
        })
    }

    public func deleteAlias(_ model: String, _ alias: String) async throws -> Visionfleet_V1_AliasChange {
        try await rpc.unary(Methods.deleteAlias.path, Visionfleet_V1_DeleteAliasRequest.with { $0.model = model; $0.alias = alias })
    }

    public func aliasHistory(_ model: String, alias: String = "") async throws -> [Visionfleet_V1_AliasChange] {
        let response: Visionfleet_V1_AliasHistoryResponse = try await rpc.unary(
            Methods.aliasHistory.path, Visionfleet_V1_AliasHistoryRequest.with { $0.model = model; $0.alias = alias })
        return response.changes
    }

    /// Follows the event stream from `fromSequence`; `body` returns false to stop.
    public func watch(from fromSequence: Int64 = 0, model: String = "",
                      body: (Visionfleet_V1_RegistryEvent) async throws -> Bool) async throws {
        try await rpc.serverStreaming(Methods.watchEvents.path, Visionfleet_V1_WatchEventsRequest.with {
            $0.fromSequence = fromSequence; $0.model = model
        }, as: Visionfleet_V1_RegistryEvent.self) { stream in
            for try await event in stream where try await !body(event) { return }
        }
    }

    /// `model@version` of every registered version whose lineage names a version of `dataset`.
    public func versionsTrained(on dataset: String) async throws -> [String] {
        var out: [String] = []
        for model in try await listModels() {
            for version in try await listVersions(model.name) where version.lineage.dataset.name == dataset {
                out.append("\(model.name)@\(version.version)")
            }
        }
        return out
    }

    public func garbageCollect(dryRun: Bool = false) async throws -> Visionfleet_V1_GarbageCollectResponse {
        try await rpc.unary(Methods.garbageCollect.path, Visionfleet_V1_GarbageCollectRequest.with { $0.dryRun = dryRun })
    }
}

extension Visionfleet_V1_ModelRef {
    /// Parses `NAME@VERSION`, `NAME@ALIAS` or `NAME` (= `NAME@latest`).
    public init(parsing text: String) {
        self.init()
        let parts = text.split(separator: "@", maxSplits: 1)
        name = String(parts.first ?? "")
        let ref = parts.count == 2 ? String(parts[1]) : "latest"
        if let number = Int32(ref) { version = number } else { alias = ref }
    }

    public var text: String {
        switch selector {
        case .version(let v)?: "\(name)@\(v)"
        case .alias(let a)?: "\(name)@\(a)"
        case nil: name
        }
    }
}
