import FleetProtos
import FleetRPC

/// vf-ingest's `visionfleet.v1.DatasetService`. No RPC is built yet: each answers
/// UNIMPLEMENTED through the router until the ingestion issue lands.
public struct DatasetRPCService: RPCService {
    public init() {}
    public var serviceName: String { ServiceCatalog.DatasetService.name }
    public func register(into router: inout RPCRouter) {}
}
