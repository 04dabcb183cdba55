import ArgumentParser
import FleetProtos
import FleetRPC
import FleetStore
import Foundation
import ServiceRuntime
import TrainingService

/// vf-train: the training server of VisionFleet.
@main
struct VFTrain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vf-train", abstract: "VisionFleet training server (gRPC).")

    @OptionGroup var server: ServerOptions

    @Option(help: "Store folder (env VF_TRAIN_HOME; default $VISIONFLEET_HOME/train, home ./.visionfleet).")
    var home: String?

    @Option(help: "vf-ingest HOST:PORT (env VF_INGEST_ADDR; default 127.0.0.1:50051): datasets are checked and read there.")
    var ingest: String?

    @Option(help: "vf-registry HOST:PORT (env VF_REGISTRY_ADDR; default 127.0.0.1:50053): models are published there.")
    var registry: String?

    @Option(help: "Most jobs waiting in the queue (env VF_TRAIN_MAX_QUEUED; default 100).")
    var maxQueued: Int?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let options = try server.resolve(prefix: "VF_TRAIN", defaultPort: 50052)
        let directory = (home ?? environment["VF_TRAIN_HOME"]).map { URL(fileURLWithPath: $0) } ?? StoreLocation.directory(service: "train")
        let queued = maxQueued ?? environment["VF_TRAIN_MAX_QUEUED"].flatMap(Int.init) ?? 100
        guard queued > 0 else { throw ValidationError("--max-queued must be positive") }
        let datasets = try DatasetClient(address: ingest)
        let models = try RegistryClient(address: registry)
        let jobs = try TrainingJobs(
            directory: directory,
            datasets: { ref in
                do {
                    let version = try await datasets.version(ref)
                    return (try await datasets.dataset(version.dataset).task, version)
                } catch let error as RPCError where error.code == .notFound {
                    throw TrainingError.notFound("vf-ingest: \(error.message)")
                }
            },
            models: { name in
                do { return try await models.model(name).task } catch let error as RPCError where error.code == .notFound { return nil }
            },
            maxQueued: queued)
        try await FleetServerRunner.run(name: "vf-train", options: options, services: [TrainingRPCService(jobs: jobs)],
                                        lifecycle: [ShutdownAction { jobs.close() }])
    }
}
