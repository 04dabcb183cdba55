import ArgumentParser
import FleetProtos
import FleetRPC
import FleetStore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import ServiceRuntime
import Tensors
import TrainingService

/// vf-train: the training server of VisionFleet, and (`vf-train worker`) the process one job runs in.
@main
struct VFTrain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vf-train", abstract: "VisionFleet training server (gRPC).",
        subcommands: [Serve.self, Worker.self, Healthcheck.self], defaultSubcommand: Serve.self)
}

/// Where vf-train keeps its store, from the flag, the environment or `$VISIONFLEET_HOME/train`.
func trainHome(_ flag: String?) -> URL {
    (flag ?? ProcessInfo.processInfo.environment["VF_TRAIN_HOME"]).map { URL(fileURLWithPath: $0) } ?? StoreLocation.directory(service: "train")
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the TrainingService (the default).")

    @OptionGroup var server: ServerOptions

    @Option(help: "Store folder (env VF_TRAIN_HOME; default $VISIONFLEET_HOME/train, home ./.visionfleet).")
    var home: String?

    @Option(help: "vf-ingest HOST:PORT (env VF_INGEST_ADDR; default 127.0.0.1:50051): datasets are checked and read there.")
    var ingest: String?

    @Option(help: "vf-registry HOST:PORT (env VF_REGISTRY_ADDR; default 127.0.0.1:50053): models are published there.")
    var registry: String?

    @Option(help: "Most jobs waiting in the queue (env VF_TRAIN_MAX_QUEUED; default 100).")
    var maxQueued: Int?

    @Option(help: "Jobs running at once (env VF_TRAIN_CONCURRENT_JOBS; default 1).")
    var concurrentJobs: Int?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let options = try server.resolve(prefix: "VF_TRAIN", defaultPort: 50052)
        let directory = trainHome(home)
        let queued = maxQueued ?? environment["VF_TRAIN_MAX_QUEUED"].flatMap(Int.init) ?? 100
        let concurrent = concurrentJobs ?? environment["VF_TRAIN_CONCURRENT_JOBS"].flatMap(Int.init) ?? 1
        guard queued > 0, concurrent > 0 else { throw ValidationError("--max-queued and --concurrent-jobs must be positive") }
        let ingestAddress = ingest ?? environment["VF_INGEST_ADDR"].flatMap { $0.isEmpty ? nil : $0 } ?? DatasetClient.defaultAddress
        let datasets = try DatasetClient(address: ingestAddress)
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
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        let runner = JobRunner(jobs: jobs, home: directory, worker: [executable, "worker", "--home", directory.path, "--ingest", ingestAddress],
                               publish: { package, job in
                                   try await models.upload(directory: package, model: job.modelName, aliases: job.aliases, description: "job \(job.id)").version
                               }, concurrency: concurrent)
        let scheduling = Task { await runner.run() }
        defer { scheduling.cancel() }
        try await FleetServerRunner.run(name: "vf-train", options: options, services: [TrainingRPCService(jobs: jobs, runner: runner)],
                                        lifecycle: [ShutdownAction { jobs.close() }])
    }
}

/// `vf-train worker --job ID`: trains one job and reports its events on stdout (frames).
struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run one job (started by the service).", shouldDisplay: false)

    @Option var job: String
    @Option var home: String?
    @Option var ingest: String?

    func run() async throws {
        BLASCore.reexecIfMisdetected()
        // A worker never outlives the service that started it (a SIGKILLed service's jobs
        // resume in new workers when it restarts): end-of-file on stdin means it is gone.
        Thread.detachNewThread {
            var byte: UInt8 = 0
            while true {
                let n = read(STDIN_FILENO, &byte, 1)
                if n > 0 || (n < 0 && errno == EINTR) { continue }
                _exit(1)
            }
        }
        let directory = trainHome(home)
        let store = try SQLiteJobStore(path: directory.appendingPathComponent("jobs.sqlite").path)
        let record = try store.job(job)
        let datasets = try DatasetClient(address: ingest)
        let source = DatasetSource(
            version: { try await datasets.version($0) },
            samples: { ref, split, body in
                try await datasets.streamSamples(ref, split: split, batchItems: 512) { batch in
                    try await body(batch)
                    return true
                }
            })
        let out = FileHandle.standardOutput
        // Last, whatever happened: the worker's peak memory.
        defer { out.write(EventFrames.encode(.with { $0.peakRssBytes = JobWorker.peakResidentBytes() })) }
        do {
            _ = try await JobWorker(job: record, home: directory, source: source) { out.write(EventFrames.encode($0)) }.run()
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// `vf-train healthcheck`: the container healthcheck (grpc.health.v1 Check on this server's port).
struct Healthcheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Exit 0 when this server answers health SERVING on its port.")
    @OptionGroup var options: HealthcheckOptions

    func run() async throws { try await options.check(prefix: "VF_TRAIN", defaultPort: 50052) }
}
