import FleetProtos
import FleetRPC

/// vf-registry's `visionfleet.v1.RegistryService`. No RPC is built yet: each answers
/// UNIMPLEMENTED through the router until the registry issue lands.
public struct RegistryRPCService: RPCService {
    public init() {}
    public var serviceName: String { ServiceCatalog.RegistryService.name }
    public func register(into router: inout RPCRouter) {}
}
