import FleetProtos
import FleetRPC
import FleetStore
import Foundation
import IngestService
import RegistryService
import ServiceRuntime
import TestSupport
import TrainingService
import XCTest

/// SIGKILL on the real vf-train while a job of each task trains: after a restart the job resumes
/// from its last checkpoint (attempts + 1) and ends with the same weights as an uninterrupted run.
final class JobResumeTests: XCTestCase {
    func testServiceKilledMidJobResumesToTheSameWeights() async throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: ServerProcess.path("vf-train")), "vf-train not built")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vf-train-resume-\(UUID().uuidString)")
        let ingestServer = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0),
                                     services: [DatasetRPCService(ingest: try DatasetIngest(directory: root.appendingPathComponent("ingest")))])
        let ingestPort = try await ingestServer.start()
        let datasets = try DatasetClient(address: "127.0.0.1:\(ingestPort)", environment: [:])
        try await JobRunTests.importTinyClasses(datasets)
        let registryServer = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0),
                                       services: [RegistryRPCService(registry: try ModelRegistry(directory: root.appendingPathComponent("registry")))])
        let registryPort = try await registryServer.start()
        let registry = try RegistryClient(address: "127.0.0.1:\(registryPort)", environment: [:])
        let configs = JobQueueTests.configs.folders[0].path
        func startTrain(_ home: URL) async throws -> (ServerProcess, TrainingClient) {
            let server = try ServerProcess("vf-train", home: home, extraArguments: ["--ingest", "127.0.0.1:\(ingestPort)", "--registry", "127.0.0.1:\(registryPort)"])
            server.process.environment = ProcessInfo.processInfo.environment.merging(["VISIONFLEET_CONFIGS": configs]) { $1 }
            try await server.start()
            return (server, try TrainingClient(address: "127.0.0.1:\(server.port)", environment: [:]))
        }
        _ = try await datasets.generateSynthetic(name: "shapes", count: 16, imageSize: 64, seed: 3)
        // The packages stay on disk after publishing: what this test compares.
        func packageDigest(_ home: URL, _ id: String) throws -> String {
            let weights = JobWorker.packageFolder(of: id, home: home).appendingPathComponent("weights.safetensors")
            return SHA256Stream.digest(of: try Data(contentsOf: weights)).description
        }
        let requests = [
            JobRunTests.request("classification/resnet20_fashion_mnist", JobRunTests.overrides + ["train.epochs=6"], model: "resume"),
            JobRunTests.request("detection/yolox_nano_shapes", ["data.input={channels: 3, height: 64, width: 64}", "train.epochs=3",
                                                                "train.batch_size=4", "train.eval_every=1", "train.no_augment_epochs=1",
                                                                "scheduler.warmup_epochs=0"], model: "resume-detector", dataset: "shapes"),
            JobRunTests.request("retrieval/resnet20_fashion_mnist_arcface", JobRunTests.overrides + ["train.epochs=3"], model: "resume-retrieval"),
        ]
        let plainHome = root.appendingPathComponent("plain")
        let home = root.appendingPathComponent("killed")
        for request in requests {
            let (plain, plainClient) = try await startTrain(plainHome)
            let reference = try await plainClient.submit(request)
            try await plainClient.watch(reference.id) { _ in true }
            let referenceJob = try await plainClient.job(reference.id)
            XCTAssertEqual(referenceJob.state, .succeeded, referenceJob.failureReason)
            plain.kill(SIGTERM)

            var (server, client) = try await startTrain(home)
            let job = try await client.submit(request)
            // Killed once the second epoch's checkpoint is written.
            var checkpoints = 0
            try await client.watch(job.id) { event in
                if case .checkpointWritten? = event.event { checkpoints += 1 }
                return checkpoints < 2
            }
            server.kill()
            // The SIGKILLed service's worker exits too: its stdin, the service's lifeline, ends.
            let deadline = ContinuousClock.now + .seconds(10)
            while try !WorkerFleet.workerProcesses(of: job.id).isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            XCTAssertEqual(try WorkerFleet.workerProcesses(of: job.id), [], "the worker outlived its service")
            (server, client) = try await startTrain(home)
            try await client.watch(job.id) { _ in true }
            let resumed = try await client.job(job.id)
            XCTAssertEqual(resumed.attempts, 2, request.modelName)
            XCTAssertEqual(resumed.state, .succeeded, resumed.failureReason)
            let versions = try await registry.listVersions(request.modelName)
            XCTAssertEqual(versions.map(\.lineage.jobID).sorted(), [job.id, reference.id].sorted())
            XCTAssertEqual(try packageDigest(home, job.id), try packageDigest(plainHome, reference.id),
                           "\(request.modelName): resumed weights equal the uninterrupted run's")
            server.kill(SIGTERM)
        }
        await ingestServer.shutdown(grace: .seconds(1))
        await registryServer.shutdown(grace: .seconds(1))
    }
}
