import ArgumentParser
import TrainingService
import ServiceRuntime

/// vf-train: the training server of VisionFleet.
@main
struct VFTrain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vf-train", abstract: "VisionFleet training server (gRPC).")

    @OptionGroup var server: ServerOptions

    func run() async throws {
        let options = try server.resolve(prefix: "VF_TRAIN", defaultPort: 50052)
        try await FleetServerRunner.run(name: "vf-train", options: options, services: [TrainingRPCService()])
    }
}
