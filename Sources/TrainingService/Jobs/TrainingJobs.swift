import FleetProtos
import FleetStore
import Foundation
import Logging
import Synchronization
import SwiftProtobuf
import VisionModels

/// vf-train's logic, independent of the RPC layer: validates and queues jobs, answers for
/// them, cancels them and replays their events. (Running queued jobs in worker processes is
/// the next part of the training-service issue.)
public final class TrainingJobs: Sendable {
    /// A dataset version's facts as vf-ingest reports them (version 0 = the latest).
    public typealias DatasetLookup = @Sendable (_ ref: Visionfleet_V1_DatasetRef) async throws -> (task: Visionfleet_V1_TaskType, version: Visionfleet_V1_DatasetVersion)
    /// The task of a registered model, nil when there is none (asked of vf-registry).
    public typealias ModelLookup = @Sendable (_ name: String) async throws -> Visionfleet_V1_TaskType?

    public let store: any JobStore
    let configs: ConfigCatalog
    let datasets: DatasetLookup?
    let models: ModelLookup?
    let maxQueued: Int
    let hub: EventHub
    let logger: Logger
    /// Stops a cancelled job's worker (set by the `JobRunner`).
    let onCancel = Mutex<(@Sendable (String) -> Void)?>(nil)

    public init(store: any JobStore, configs: ConfigCatalog = .standard(), datasets: DatasetLookup?, models: ModelLookup? = nil,
                maxQueued: Int = 100, logger: Logger = Logger(label: "visionfleet.train")) throws {
        self.store = store
        self.configs = configs
        self.datasets = datasets
        self.models = models
        self.maxQueued = maxQueued
        self.logger = logger
        hub = EventHub(latest: try store.latestSequence())
    }

    /// The embedded default: SQLite at `<directory>/jobs.sqlite`.
    public convenience init(directory: URL, configs: ConfigCatalog = .standard(), datasets: DatasetLookup?, models: ModelLookup? = nil,
                            maxQueued: Int = 100, logger: Logger = Logger(label: "visionfleet.train")) throws {
        try self.init(store: try SQLiteJobStore(path: directory.appendingPathComponent("jobs.sqlite").path), configs: configs,
                      datasets: datasets, models: models, maxQueued: maxQueued, logger: logger)
    }

    /// Parses a config (YAML text or a shipped name) with overrides; key-path errors come back
    /// as `invalidArgument` with the path as the field.
    func resolve(_ text: String, overrides: [String]) throws -> ExperimentConfig {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw TrainingError.invalidArgument(item: "config", field: "config_yaml", message: "a config's YAML text or the name of a shipped config is required")
        }
        let yaml = ConfigCatalog.isName(text) ? try configs.text(named: text) : text
        do {
            return try ExperimentConfig.parse(yaml: yaml, overrides: overrides)
        } catch let error as ConfigError {
            throw TrainingError.invalidArgument(item: "config", field: error.path.isEmpty ? "config_yaml" : error.path, message: error.message)
        } catch {
            throw TrainingError.invalidArgument(item: "config", field: "config_yaml", message: "\(error)")
        }
    }

    func validate(_ request: Visionfleet_V1_ValidateConfigRequest) -> Visionfleet_V1_ValidateConfigResponse {
        do {
            let config = try resolve(request.configYaml, overrides: request.overrides)
            return .with { $0.valid = true; $0.resolvedYaml = config.resolvedYAML }
        } catch let TrainingError.invalidArgument(item, field, message) {
            return .with { $0.valid = false; $0.errors = [.with { $0.item = item; $0.field = field; $0.message = message }] }
        } catch {
            return .with { $0.valid = false; $0.errors = [.with { $0.item = "config"; $0.field = "config_yaml"; $0.message = "\(error)" }] }
        }
    }

    static func taskType(_ name: String) -> Visionfleet_V1_TaskType {
        switch name { case "classification": .classification; case "detection": .detection; case "retrieval": .retrieval; default: .unspecified }
    }

    /// Checks everything that can be checked before any work and queues the job.
    func submit(_ request: Visionfleet_V1_SubmitJobRequest, now: Date = Date()) async throws -> Visionfleet_V1_Job {
        // The same key → the same job, whatever changed since (checked again inside the insert).
        if !request.idempotencyKey.isEmpty, let existing = try store.job(idempotencyKey: request.idempotencyKey) { return existing }
        try Self.checkModelName(request.modelName)
        guard request.maxRuntimeSeconds >= 0 else {
            throw TrainingError.invalidArgument(item: request.modelName, field: "max_runtime_seconds", message: "must not be negative")
        }
        for alias in request.aliases { try Self.checkModelName(alias, field: "aliases") }
        let config = try resolve(request.configYaml, overrides: request.overrides)
        let task = Self.taskType(config.task)
        guard !request.dataset.name.isEmpty else {
            throw TrainingError.invalidArgument(item: request.modelName, field: "dataset", message: "a dataset NAME@VERSION is required")
        }
        var dataset = request.dataset
        var datasetDigest = ""
        if let datasets {
            let found: (task: Visionfleet_V1_TaskType, version: Visionfleet_V1_DatasetVersion)
            do { found = try await datasets(request.dataset) } catch let error as TrainingError { throw error } catch {
                throw TrainingError.unavailable("cannot look up dataset \(request.dataset.name) in vf-ingest: \(error)")
            }
            // Retrieval trains on classification data (its labels are the identities).
            let wanted: Visionfleet_V1_TaskType = task == .retrieval ? .classification : task
            guard found.task == wanted else {
                throw TrainingError.failedPrecondition("dataset \(request.dataset.name) is \(found.task) data; a \(config.task) config needs \(wanted) data")
            }
            let train = found.version.splitCounts["train"] ?? 0
            guard train >= Int64(config.batchSize) else {
                throw TrainingError.failedPrecondition("dataset \(found.version.dataset)@\(found.version.version) has \(train) training images, fewer than one batch (\(config.batchSize))")
            }
            dataset.version = found.version.version
            datasetDigest = found.version.manifestDigest
        }
        if let models, let existing = try await models(request.modelName), existing != task {
            throw TrainingError.failedPrecondition("model \(request.modelName) is registered as \(existing); this job trains \(config.task)")
        }
        guard try store.count(in: [.queued]) < maxQueued else {
            throw TrainingError.resourceExhausted("the queue holds \(maxQueued) jobs already; try again when some have started")
        }
        let job = Visionfleet_V1_Job.with {
            $0.id = Self.newID(now)
            $0.modelName = request.modelName
            $0.dataset = dataset
            $0.datasetDigest = datasetDigest
            $0.aliases = request.aliases
            $0.maxRuntimeSeconds = request.maxRuntimeSeconds
            $0.task = task
            $0.state = .queued
            $0.configYaml = config.resolvedYAML
            $0.configDigest = SHA256Stream.digest(of: Data(config.resolvedYAML.utf8)).description
            $0.totalEpochs = Int32(config.epochs)
            $0.createdAt = Google_Protobuf_Timestamp(date: now)
        }
        let (stored, created) = try store.insert(job, idempotencyKey: request.idempotencyKey)
        if created {
            hub.published(upTo: try store.latestSequence())
            logger.info("queued \(stored.id): \(config.task) \(request.modelName) on \(dataset.name)@\(dataset.version)")
        }
        return stored
    }

    func cancel(_ id: String) throws -> Visionfleet_V1_Job {
        let job = try store.job(id)
        if job.state == .cancelled { return job }
        guard !JobLifecycle.isFinal(job.state) else {
            throw TrainingError.failedPrecondition("job \(id) already \(JobLifecycle.name(job.state))")
        }
        let (cancelled, sequence) = try store.transition(id, to: .cancelled) { $0.finishedAt = Google_Protobuf_Timestamp(date: Date()) }
        hub.published(upTo: sequence)
        onCancel.withLock { $0 }?(id)
        logger.info("cancelled \(id)")
        return cancelled
    }

    /// Replays a job's events after `from`, then follows live ones until the job is final
    /// (or the service shuts down).
    func watch(_ id: String, from: Int64, send: (Visionfleet_V1_JobEvent) async throws -> Void) async throws {
        _ = try store.job(id)
        var cursor = max(0, from)
        while true {
            // Taken before reading: every event published up to `mark` is committed, so the
            // read below sees it; anything later wakes the wait.
            let mark = hub.latest
            let events = try store.events(of: id, after: cursor, limit: 500)
            for event in events {
                try await send(event)
                cursor = event.sequence
            }
            if events.count == 500 { continue }
            if JobLifecycle.isFinal(try store.job(id).state) {
                // Anything written between the read above and the state check is sent too.
                for event in try store.events(of: id, after: cursor, limit: 10_000) { try await send(event) }
                return
            }
            if hub.isClosed || Task.isCancelled { return }
            await hub.wait(after: mark)
        }
    }

    /// Model names follow the registry's rule: a letter or digit, then letters, digits, '.', '_' or '-'.
    static func checkModelName(_ name: String, field: String = "model_name") throws {
        let bytes = Array(name.utf8)
        func alnum(_ c: UInt8) -> Bool { (48...57).contains(c) || (65...90).contains(c) || (97...122).contains(c) }
        guard !bytes.isEmpty, bytes.count <= 128, alnum(bytes[0]),
              bytes.allSatisfy({ alnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }) else {
            throw TrainingError.invalidArgument(item: name, field: field,
                                                message: "a name is 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit")
        }
    }

    /// Time-ordered ids: `job-<ms since 1970, hex>-<random>`, so listing by id lists by age.
    static func newID(_ now: Date) -> String {
        let ms = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        return "job-" + String(ms, radix: 16) + "-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }

    /// Ends watch streams at once (graceful shutdown).
    public func close() { hub.close() }
}
