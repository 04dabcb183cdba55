import FleetRPC
import Foundation

/// What the typed fleet clients share: how a client finds its service and pages through lists.
enum FleetClientConnection {
    /// An RPC client of one fleet service: `address`, else the environment variable
    /// `variable`, else the local fleet `vf up` started under `$VISIONFLEET_HOME`, else
    /// `defaultAddress`; a bearer token from `token` or `VISIONFLEET_TOKEN`.
    static func client(address: String?, variable: String, defaultAddress: String, token: String?, tls: TLSConfig? = nil,
                       environment: [String: String]) throws -> RPCClient {
        var target = defaultAddress
        if let address {
            target = address
        } else if let fromEnvironment = environment[variable], !fromEnvironment.isEmpty {
            target = fromEnvironment
        } else if let service = localService[variable], let local = FleetState.address(of: service, environment: environment) {
            target = local
        }
        var options = CallOptions()
        if let token = token ?? environment["VISIONFLEET_TOKEN"], !token.isEmpty { options.metadata.add("authorization", "Bearer \(token)") }
        return RPCClient(channel: try RPCChannel(target: target, tls: tls), defaultOptions: options)
    }

    /// The local fleet's service name behind each address variable.
    static let localService = ["VF_INGEST_ADDR": "ingest", "VF_TRAIN_ADDR": "train", "VF_REGISTRY_ADDR": "registry", "VF_SERVE_ADDR": "serve"]

    /// Follows page tokens until the last page.
    static func allPages<Item>(_ fetch: (String) async throws -> ([Item], String)) async throws -> [Item] {
        var out: [Item] = []
        var token = ""
        repeat {
            let (items, next) = try await fetch(token)
            out += items
            token = next
        } while !token.isEmpty
        return out
    }
}
