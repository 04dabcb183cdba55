import ArgumentParser
import FleetStore
import Foundation
import RegistryService
import ServiceRuntime

/// vf-registry: the model registry server of VisionFleet.
@main
struct VFRegistry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vf-registry", abstract: "VisionFleet model registry server (gRPC).",
        subcommands: [Healthcheck.self])

    @OptionGroup var server: ServerOptions

    @Option(help: "Store folder (env VF_REGISTRY_HOME; default $VISIONFLEET_HOME/registry, home ./.visionfleet).")
    var home: String?

    @Option(help: "Largest upload in MiB, all files of a version together (env VF_REGISTRY_MAX_UPLOAD_MIB; default 4096).")
    var maxUploadMib: Int?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let options = try server.resolve(prefix: "VF_REGISTRY", defaultPort: 50053)
        let directory = (home ?? environment["VF_REGISTRY_HOME"]).map { URL(fileURLWithPath: $0) }
            ?? StoreLocation.directory(service: "registry")
        let limitText = maxUploadMib.map(String.init) ?? environment["VF_REGISTRY_MAX_UPLOAD_MIB"] ?? "4096"
        guard let limit = Int64(limitText), limit > 0 else {
            throw ValidationError("--max-upload-mib: expected a positive number, got '\(limitText)'")
        }
        let registry = try ModelRegistry(directory: directory, maxUploadBytes: limit << 20)
        try await FleetServerRunner.run(name: "vf-registry", options: options, services: [RegistryRPCService(registry: registry)],
                                        lifecycle: [ShutdownAction { registry.close() }])
    }
}

/// `vf-registry healthcheck`: the container healthcheck (grpc.health.v1 Check on this server's port).
struct Healthcheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Exit 0 when this server answers health SERVING on its port.")
    @OptionGroup var options: HealthcheckOptions

    func run() async throws { try await options.check(prefix: "VF_REGISTRY", defaultPort: 50053) }
}
