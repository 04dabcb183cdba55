import FleetProtos
import FleetRPC

/// Asks a server's `grpc.health.v1.Health/Check` for a service ("" = the whole server).
public enum HealthProbe {
    public typealias Status = Grpc_Health_V1_HealthCheckResponse.ServingStatus

    public static func check(_ client: RPCClient, service: String = "", timeout: Duration = .seconds(3)) async throws -> Status {
        let response = try await client.unary(
            ServiceCatalog.Health.check.path,
            Grpc_Health_V1_HealthCheckRequest.with { $0.service = service },
            as: Grpc_Health_V1_HealthCheckResponse.self,
            options: CallOptions(timeout: timeout, waitForReady: true))
        return response.status
    }
}
