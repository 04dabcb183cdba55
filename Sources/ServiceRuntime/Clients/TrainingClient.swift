import FleetProtos
import FleetRPC
import Foundation

/// A typed client of vf-train (`visionfleet.v1.TrainingService`).
public struct TrainingClient: Sendable {
    typealias Methods = ServiceCatalog.TrainingService
    public static let defaultAddress = "127.0.0.1:50052"

    public let rpc: RPCClient

    public init(rpc: RPCClient) { self.rpc = rpc }

    /// `address` or `VF_TRAIN_ADDR` or 127.0.0.1:50052; a bearer token from `token` or `VISIONFLEET_TOKEN`.
    public init(address: String? = nil, token: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        rpc = try FleetClientConnection.client(address: address, variable: "VF_TRAIN_ADDR", defaultAddress: Self.defaultAddress,
                                               token: token, environment: environment)
    }

    public func submit(_ request: Visionfleet_V1_SubmitJobRequest) async throws -> Visionfleet_V1_Job {
        try await rpc.unary(Methods.submitJob.path, request)
    }

    public func job(_ id: String) async throws -> Visionfleet_V1_Job {
        try await rpc.unary(Methods.getJob.path, Visionfleet_V1_GetJobRequest.with { $0.id = id })
    }

    /// Every job (all pages), filtered by state and model when given.
    public func listJobs(state: Visionfleet_V1_JobState = .unspecified, model: String = "", pageSize: Int32 = 0) async throws -> [Visionfleet_V1_Job] {
        try await FleetClientConnection.allPages { token in
            let page: Visionfleet_V1_ListJobsResponse = try await rpc.unary(Methods.listJobs.path, Visionfleet_V1_ListJobsRequest.with {
                $0.state = state; $0.modelName = model; $0.page.pageSize = pageSize; $0.page.pageToken = token
            })
            return (page.jobs, page.page.nextPageToken)
        }
    }

    public func cancel(_ id: String) async throws -> Visionfleet_V1_Job {
        try await rpc.unary(Methods.cancelJob.path, Visionfleet_V1_CancelJobRequest.with { $0.id = id })
    }

    public func retryPublish(_ id: String) async throws -> Visionfleet_V1_Job {
        try await rpc.unary(Methods.retryPublish.path, Visionfleet_V1_RetryPublishRequest.with { $0.id = id })
    }

    public func validate(_ yaml: String, overrides: [String] = []) async throws -> Visionfleet_V1_ValidateConfigResponse {
        try await rpc.unary(Methods.validateConfig.path, Visionfleet_V1_ValidateConfigRequest.with { $0.configYaml = yaml; $0.overrides = overrides })
    }

    /// A job's events after `fromSequence`, then live ones until it ends; `body` returns false to stop.
    public func watch(_ id: String, from fromSequence: Int64 = 0, body: (Visionfleet_V1_JobEvent) async throws -> Bool) async throws {
        try await rpc.serverStreaming(Methods.watchJob.path, Visionfleet_V1_WatchJobRequest.with { $0.id = id; $0.fromSequence = fromSequence },
                                      as: Visionfleet_V1_JobEvent.self) { stream in
            for try await event in stream where try await !body(event) { return }
        }
    }
}
