import FleetProtos
import FleetRPC
import Foundation

/// A typed client of vf-serve: the task API (`visionfleet.v1.VisionService`) and the model
/// repository calls of the Open Inference Protocol.
public struct VisionClient: Sendable {
    typealias Methods = ServiceCatalog.VisionService
    typealias Inference = ServiceCatalog.GRPCInferenceService
    public static let defaultAddress = "127.0.0.1:8001"

    public let rpc: RPCClient

    public init(rpc: RPCClient) { self.rpc = rpc }

    /// `address` or `VF_SERVE_ADDR` or the local fleet or 127.0.0.1:8001.
    public init(address: String? = nil, token: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        rpc = try FleetClientConnection.client(address: address, variable: "VF_SERVE_ADDR", defaultAddress: Self.defaultAddress,
                                               token: token, environment: environment)
    }

    public func servedModels() async throws -> [Visionfleet_V1_ServedModel] {
        let r: Visionfleet_V1_ListServedModelsResponse = try await rpc.unary(Methods.listServedModels.path, Visionfleet_V1_ListServedModelsRequest())
        return r.models
    }

    public func classify(_ request: Visionfleet_V1_ClassifyRequest) async throws -> Visionfleet_V1_ClassifyResponse {
        try await rpc.unary(Methods.classify.path, request)
    }

    public func detect(_ request: Visionfleet_V1_DetectRequest) async throws -> Visionfleet_V1_DetectResponse {
        try await rpc.unary(Methods.detect.path, request)
    }

    public func search(_ request: Visionfleet_V1_SearchRequest) async throws -> Visionfleet_V1_SearchResponse {
        try await rpc.unary(Methods.search.path, request)
    }

    /// Serves `reference` (`NAME@ALIAS` or `NAME@VERSION`) under its name; returns once it is
    /// ready (download, verification and warm-up included).
    public func load(_ reference: String, timeout: Duration = .seconds(600)) async throws {
        var options = rpc.defaultOptions
        options.timeout = timeout
        let _: Inference_RepositoryModelLoadResponse = try await rpc.unary(
            Inference.repositoryModelLoad.path, Inference_RepositoryModelLoadRequest.with { $0.modelName = reference }, options: options)
    }

    public func ready(_ model: String) async throws -> Bool {
        let r: Inference_ModelReadyResponse = try await rpc.unary(Inference.modelReady.path, Inference_ModelReadyRequest.with { $0.name = model })
        return r.ready
    }
}
