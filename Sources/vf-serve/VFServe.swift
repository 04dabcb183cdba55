import ArgumentParser
import FleetProtos
import FleetRPC
import FleetStore
import Foundation
import InferenceService
import ServiceRuntime
import ServiceLifecycle
import Synchronization

/// vf-serve: the online inference server of VisionFleet.
@main
struct VFServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vf-serve", abstract: "VisionFleet online inference server (gRPC: the task API and the Open Inference Protocol).",
        subcommands: [Healthcheck.self])

    @OptionGroup var server: ServerOptions

    @Option(help: "Models to serve, NAME@ALIAS or NAME@VERSION, comma-separated (env VF_SERVE_MODELS); more load at run time through RepositoryModelLoad.")
    var models: String?

    @Option(help: "vf-registry HOST:PORT (env VF_REGISTRY_ADDR; default 127.0.0.1:50053): models come from there.")
    var registry: String?

    @Option(help: "vf-ingest HOST:PORT (env VF_INGEST_ADDR): images given by blob digest are fetched there.")
    var ingest: String?

    @Option(help: "Package cache and gallery changes (env VF_SERVE_HOME; default $VISIONFLEET_HOME/serve).")
    var home: String?

    @Option(help: "Most images per batch (env VF_SERVE_MAX_BATCH; default 8).")
    var maxBatchSize: Int?

    @Option(help: "How long a request waits for others to batch with, µs (env VF_SERVE_MAX_QUEUE_DELAY_US; default 200).")
    var maxQueueDelayUs: Int?

    @Option(help: "Batch sizes worth waiting for, comma-separated (env VF_SERVE_PREFERRED_BATCH).")
    var preferredBatchSizes: String?

    @Option(help: "Most requests waiting per model before RESOURCE_EXHAUSTED (env VF_SERVE_MAX_QUEUE; default 512).")
    var maxQueueSize: Int?

    @Option(help: "Model instances running batches side by side, each with its share of the cores (env VF_SERVE_INSTANCES; default 0: two for a small model on 2 or more cores, else one).")
    var instances: Int?

    @Option(help: "Per-model batching, NAME:max_batch=16,delay_us=500,preferred=8/16,queue=256,instances=2 (repeatable).")
    var batching: [String] = []

    @Option(help: "Prometheus metrics HTTP port, path /metrics (env VF_SERVE_METRICS_PORT; default 8002; 0 = any free port).")
    var metricsPort: Int?

    @Flag(help: "Serve no metrics endpoint (env VF_SERVE_METRICS_PORT=off).")
    var noMetrics = false

    @Option(help: "Open Inference Protocol over HTTP/REST (KServe v2, Triton's) port (env VF_SERVE_HTTP_PORT; default 8000; 0 = any free port).")
    var httpPort: Int?

    @Flag(help: "Serve no HTTP/REST inference endpoint (env VF_SERVE_HTTP_PORT=off).")
    var noHttp = false

    @Option(help: "Most pixels of an encoded image (env VF_SERVE_MAX_IMAGE_PIXELS; default 40000000).")
    var maxImagePixels: Int?

    @Option(help: "Where Triton-style request traces are written (env VF_SERVE_TRACE_FILE); TraceSetting then switches tracing on and off. Without it, tracing stays off.")
    var traceFile: String?

    @Flag(help: "Let clients register system shared memory (Triton's extension, as its --allow-client-shm): a client names POSIX shared-memory objects for vf-serve to map, so only for trusted local clients (env VF_SERVE_ALLOW_CLIENT_SHM=1).")
    var allowClientShm = false

    @Option(help: "Scheduling of every thread but the model instances' (env VF_SERVE_HELPER_POLICY): adaptive (default: SCHED_BATCH, never preempting a running batch, while the batcher is saturated), batch (always) or normal.")
    var helperPolicy: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        // First, before any server starts threads: with `batch` every thread yields from here on
        // (new ones inherit it); with `adaptive` the batcher moves them later.
        let policyText = helperPolicy ?? environment["VF_SERVE_HELPER_POLICY"].flatMap { $0.isEmpty ? nil : $0 } ?? "adaptive"
        guard let policy = ComputeScheduling.HelperPolicy(rawValue: policyText) else {
            throw ValidationError("helper policy '\(policyText)' (--helper-policy / VF_SERVE_HELPER_POLICY): expected \(ComputeScheduling.HelperPolicy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let scheduling = ComputeScheduling.apply(policy)
        let options = try server.resolve(prefix: "VF_SERVE", defaultPort: 8001, defaultGrpcThreads: 1)
        func number(_ flag: Int?, _ variable: String) throws -> Int? {
            if let flag { return flag }
            guard let text = environment[variable], !text.isEmpty else { return nil }
            guard let v = Int(text) else { throw ValidationError("\(variable)=\(text) is not a number") }
            return v
        }
        var defaults = BatchingConfig()
        if let v = try number(maxBatchSize, "VF_SERVE_MAX_BATCH") { defaults.maxBatchSize = v }
        if let v = try number(maxQueueDelayUs, "VF_SERVE_MAX_QUEUE_DELAY_US") { defaults.maxQueueDelayMicroseconds = v }
        if let v = try number(maxQueueSize, "VF_SERVE_MAX_QUEUE") { defaults.maxQueueSize = v }
        if let v = try number(instances, "VF_SERVE_INSTANCES") { defaults.instances = v }
        if let text = preferredBatchSizes ?? environment["VF_SERVE_PREFERRED_BATCH"], !text.isEmpty {
            defaults.preferredBatchSizes = try text.split(separator: ",").map {
                guard let v = Int($0.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--preferred-batch-sizes: '\($0)' is not a number") }
                return v
            }
        }
        do { _ = try defaults.validated(for: "--max-batch-size") } catch { throw ValidationError("\(error)") }
        var perModel: [String: String] = [:]
        for spec in batching {
            guard let colon = spec.firstIndex(of: ":") else { throw ValidationError("--batching \(spec): expected NAME:key=value,...") }
            let name = String(spec[..<colon]), text = String(spec[spec.index(after: colon)...])
            do { _ = try defaults.overridden(by: text, for: name) } catch { throw ValidationError("--batching \(spec): \(error)") }
            perModel[name] = text
        }
        let directory = (home ?? environment["VF_SERVE_HOME"]).map { URL(fileURLWithPath: $0) } ?? StoreLocation.directory(service: "serve")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let settings = ServeSettings(home: directory, batching: defaults, modelBatching: perModel,
                                     maxImagePixels: try number(maxImagePixels, "VF_SERVE_MAX_IMAGE_PIXELS") ?? 40_000_000,
                                     traceFile: (traceFile ?? environment["VF_SERVE_TRACE_FILE"]).flatMap { $0.isEmpty ? nil : $0 })
        var references = try (models ?? environment["VF_SERVE_MODELS"] ?? "").split(separator: ",").map { text in
            let ref = Visionfleet_V1_ModelRef(parsing: text.trimmingCharacters(in: .whitespaces))
            guard !ref.name.isEmpty else { throw ValidationError("--models: '\(text)' names no model") }
            return ref
        }
        // Models loaded at run time before a restart are served again (--models wins for a name).
        let remembered = ServedModelList(file: directory.appendingPathComponent("served-models.json"))
        for (name, text) in remembered.saved.sorted(by: { $0.key < $1.key }) where !references.contains(where: { $0.name == name }) {
            references.append(Visionfleet_V1_ModelRef(parsing: text))
        }

        let registryClient = try RegistryClient(address: registry)
        let ingestAddress = ingest ?? environment["VF_INGEST_ADDR"].flatMap { $0.isEmpty ? nil : $0 }
        let datasets = try ingestAddress.map { try DatasetClient(address: $0) }
        let running = Mutex<RPCServer?>(nil)
        let repository = ModelRepository(source: RegistryModelSource(client: registryClient), settings: settings, remembered: remembered) { ready in
            running.withLock { $0?.setServing(ServiceCatalog.VisionService.name, ready) }
        }
        let follower = RegistryFollower(repository: repository)
        var lifecycle: [any Service] = [follower]
        let metricsOff = noMetrics || (metricsPort == nil && environment["VF_SERVE_METRICS_PORT"] == "off")
        let metricsPortValue = metricsOff ? -1 : try number(metricsPort, "VF_SERVE_METRICS_PORT") ?? 8002
        if metricsPortValue >= 0 {
            lifecycle.append(MetricsHTTPServer(host: options.config.host, port: metricsPortValue, metrics: repository.metrics))
        }
        let allowShm = allowClientShm || ["1", "true", "yes"].contains(environment["VF_SERVE_ALLOW_CLIENT_SHM"]?.lowercased() ?? "")
        let sharedMemory = SharedMemoryRegions(allowClients: allowShm)
        // Plain HTTP beside a TLS gRPC port only when asked for by port: never by default.
        let httpOff = noHttp || (httpPort == nil && environment["VF_SERVE_HTTP_PORT"] == "off")
            || (options.config.tls != nil && httpPort == nil && environment["VF_SERVE_HTTP_PORT"] == nil)
        if !httpOff {
            let port = try number(httpPort, "VF_SERVE_HTTP_PORT") ?? 8000
            lifecycle.append(InferenceHTTPServer(host: options.config.host, port: port, repository: repository, sharedMemory: sharedMemory,
                                                 maxBodyBytes: options.config.maxReceiveBytes, authTokens: options.authTokens))
        }
        repository.start(references)
        var fetchBlob: (@Sendable (String) async throws -> Data)?
        if let datasets { fetchBlob = { digest in try await datasets.blob(digest) } }
        try await FleetServerRunner.run(
            name: "vf-serve", options: options,
            services: [VisionRPCService(repository: repository, blobs: fetchBlob),
                       InferenceProtocolService(repository: repository, sharedMemory: sharedMemory)],
            lifecycle: lifecycle,
            announce: { logger in
                if let scheduling { logger.warning("helper threads keep the normal scheduling policy: \(scheduling)") }
                else { logger.info("helper threads' scheduling: \(policy.rawValue)") }
            },
            created: { server in
                running.withLock { $0 = server }
                server.setServing(ServiceCatalog.VisionService.name, repository.anyReady)
            })
        await repository.shutdown()
    }
}

/// `vf-serve healthcheck`: the container healthcheck (grpc.health.v1 Check on this server's port).
struct Healthcheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Exit 0 when this server answers health SERVING on its port.")
    @OptionGroup var options: HealthcheckOptions

    func run() async throws { try await options.check(prefix: "VF_SERVE", defaultPort: 8001) }
}
