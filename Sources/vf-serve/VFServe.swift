import ArgumentParser
import InferenceService
import ServiceRuntime

/// vf-serve: the online inference server of VisionFleet.
@main
struct VFServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vf-serve", abstract: "VisionFleet online inference server (gRPC).")

    @OptionGroup var server: ServerOptions

    func run() async throws {
        let options = try server.resolve(prefix: "VF_SERVE", defaultPort: 8001)
        try await FleetServerRunner.run(name: "vf-serve", options: options, services: [VisionRPCService(), InferenceProtocolService()])
    }
}
