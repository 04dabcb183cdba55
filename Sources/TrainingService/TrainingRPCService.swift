import FleetProtos
import FleetRPC

/// vf-train's `visionfleet.v1.TrainingService`. No RPC is built yet: each answers
/// UNIMPLEMENTED through the router until the training-service issue lands.
public struct TrainingRPCService: RPCService {
    public init() {}
    public var serviceName: String { ServiceCatalog.TrainingService.name }
    public func register(into router: inout RPCRouter) {}
}
