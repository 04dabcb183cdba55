import ArgumentParser
import RegistryService
import ServiceRuntime

/// vf-registry: the model registry server of VisionFleet.
@main
struct VFRegistry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vf-registry", abstract: "VisionFleet model registry server (gRPC).")

    @OptionGroup var server: ServerOptions

    func run() async throws {
        let options = try server.resolve(prefix: "VF_REGISTRY", defaultPort: 50053)
        try await FleetServerRunner.run(name: "vf-registry", options: options, services: [RegistryRPCService()])
    }
}
