import ArgumentParser
import FleetStore
import Foundation
import IngestService
import ServiceRuntime

/// vf-ingest: the dataset ingestion server of VisionFleet.
@main
struct VFIngest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vf-ingest", abstract: "VisionFleet dataset ingestion server (gRPC).",
        subcommands: [Healthcheck.self])

    @OptionGroup var server: ServerOptions

    @Option(help: "Store folder (env VF_INGEST_HOME; default $VISIONFLEET_HOME/ingest, home ./.visionfleet).")
    var home: String?

    @Option(help: "vf-registry HOST:PORT (env VF_REGISTRY_ADDR): a dataset a registered model was trained on is not deleted.")
    var registry: String?

    @Option(help: "Largest import in MiB, all files together (env VF_INGEST_MAX_IMPORT_MIB; default 65536).")
    var maxImportMib: Int?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let options = try server.resolve(prefix: "VF_INGEST", defaultPort: 50051)
        let directory = (home ?? environment["VF_INGEST_HOME"]).map { URL(fileURLWithPath: $0) } ?? StoreLocation.directory(service: "ingest")
        let limitText = maxImportMib.map(String.init) ?? environment["VF_INGEST_MAX_IMPORT_MIB"] ?? "65536"
        guard let limit = Int64(limitText), limit > 0 else {
            throw ValidationError("--max-import-mib: expected a positive number, got '\(limitText)'")
        }
        var lineage: DatasetIngest.LineageLookup?
        if let address = registry ?? environment["VF_REGISTRY_ADDR"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let client = try RegistryClient(address: address)
            lineage = { dataset in try await client.versionsTrained(on: dataset) }
        }
        let ingest = try DatasetIngest(directory: directory, maxImportBytes: limit << 20, lineage: lineage)
        try await FleetServerRunner.run(name: "vf-ingest", options: options, services: [DatasetRPCService(ingest: ingest)])
    }
}

/// `vf-ingest healthcheck`: the container healthcheck (grpc.health.v1 Check on this server's port).
struct Healthcheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Exit 0 when this server answers health SERVING on its port.")
    @OptionGroup var options: HealthcheckOptions

    func run() async throws { try await options.check(prefix: "VF_INGEST", defaultPort: 50051) }
}
