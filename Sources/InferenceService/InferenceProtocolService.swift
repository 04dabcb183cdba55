import FleetProtos
import FleetRPC

/// vf-serve's Open Inference Protocol endpoint (`inference.GRPCInferenceService`, Triton's
/// layout). Liveness and server metadata answer now; model RPCs come with the inference issue.
public struct InferenceProtocolService: RPCService {
    public static let serverName = "visionfleet"
    public static let serverVersion = "0.1.0"

    public init() {}
    public var serviceName: String { ServiceCatalog.GRPCInferenceService.name }

    public func register(into router: inout RPCRouter) {
        router.unary(ServiceCatalog.GRPCInferenceService.serverLive.path) {
            (_: Inference_ServerLiveRequest, _) in
            Inference_ServerLiveResponse.with { $0.live = true }
        }
        router.unary(ServiceCatalog.GRPCInferenceService.serverMetadata.path) {
            (_: Inference_ServerMetadataRequest, _) in
            Inference_ServerMetadataResponse.with {
                $0.name = Self.serverName
                $0.version = Self.serverVersion
                $0.extensions = []
            }
        }
    }
}
