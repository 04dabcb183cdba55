import ArgumentParser
import IngestService
import ServiceRuntime

/// vf-ingest: the dataset ingestion server of VisionFleet.
@main
struct VFIngest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vf-ingest", abstract: "VisionFleet dataset ingestion server (gRPC).")

    @OptionGroup var server: ServerOptions

    func run() async throws {
        let options = try server.resolve(prefix: "VF_INGEST", defaultPort: 50051)
        try await FleetServerRunner.run(name: "vf-ingest", options: options, services: [DatasetRPCService()])
    }
}
