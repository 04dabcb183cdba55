/// The four services `vf up` starts, in start order, with the environment each reads.
struct FleetServiceSpec: Sendable {
    var name: String
    var executable: String
    /// Environment prefix of the server's own settings (`<PREFIX>_PORT`, `<PREFIX>_HOST`).
    var prefix: String
    var defaultPort: Int
    /// The other services it calls, as (variable, service name).
    var peers: [(variable: String, service: String)]

    static let all: [FleetServiceSpec] = [
        .init(name: "registry", executable: "vf-registry", prefix: "VF_REGISTRY", defaultPort: 50053, peers: []),
        .init(name: "ingest", executable: "vf-ingest", prefix: "VF_INGEST", defaultPort: 50051, peers: [("VF_REGISTRY_ADDR", "registry")]),
        .init(name: "train", executable: "vf-train", prefix: "VF_TRAIN", defaultPort: 50052,
              peers: [("VF_INGEST_ADDR", "ingest"), ("VF_REGISTRY_ADDR", "registry")]),
        .init(name: "serve", executable: "vf-serve", prefix: "VF_SERVE", defaultPort: 8001,
              peers: [("VF_REGISTRY_ADDR", "registry"), ("VF_INGEST_ADDR", "ingest")]),
    ]

    static let defaultMetricsPort = 8002
    static let defaultHTTPPort = 8000
}
