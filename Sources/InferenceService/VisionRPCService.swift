import FleetProtos
import FleetRPC

/// vf-serve's `visionfleet.v1.VisionService`. No RPC is built yet: each answers
/// UNIMPLEMENTED through the router until the inference issue lands.
public struct VisionRPCService: RPCService {
    public init() {}
    public var serviceName: String { ServiceCatalog.VisionService.name }
    public func register(into router: inout RPCRouter) {}
}
