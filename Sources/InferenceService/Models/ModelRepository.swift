import FleetProtos
import FleetRPC
import Foundation
import Logging
import Synchronization
import Tensors
import VectorIndex
import VisionModels

/// The models vf-serve serves, by name, each following a registry reference (`NAME@ALIAS` or
/// `NAME@VERSION`). Loads download the package, verify it, build and warm the model, and only
/// then swap it in; the previous version drains in the background, so no request fails during
/// a swap. Loads, swaps and unloads of one model run one at a time (`SerialTasks`).
public final class ModelRepository: Sendable {
    struct Entry: Sendable {
        var reference: Visionfleet_V1_ModelRef
        var state: ServedModelState
        var current: ServedVersion?
        var failure: String = ""
    }

    /// What RepositoryIndex and ListServedModels show of one model.
    public struct Status: Sendable {
        public var name: String
        public var reference: String
        public var state: ServedModelState
        public var version: Int32?
        public var alias: String
        public var task: String
        public var failure: String
    }

    public let settings: ServeSettings
    let source: any ModelSource
    let logger: Logger
    private let entries = Mutex<[String: Entry]>([:])
    private let serial = SerialTasks()
    private let pendingReconcile = Mutex<Set<String>>([])
    private let startupTasks = Mutex<[Task<Void, Never>]>([])
    private let readiness: @Sendable (Bool) -> Void
    /// Where served versions report their Prometheus metrics.
    public let metrics: ServeMetrics
    /// Models loaded and unloaded at run time, remembered across restarts (nil: not remembered).
    public let remembered: ServedModelList?
    /// Triton-style traces of sampled inference requests.
    public let tracer: RequestTracer

    /// `readiness` hears whether at least one model is ready, after every change.
    public init(source: any ModelSource, settings: ServeSettings, metrics: ServeMetrics = ServeMetrics(), remembered: ServedModelList? = nil,
                logger: Logger = Logger(label: "visionfleet.vf-serve"), readiness: @escaping @Sendable (Bool) -> Void = { _ in }) {
        self.source = source
        self.remembered = remembered
        self.metrics = metrics
        self.settings = settings
        self.logger = logger
        self.readiness = readiness
        self.tracer = RequestTracer(traceFile: settings.traceFile, logger: logger)
    }

    // MARK: requests

    /// The version of `name` that answers a request (`version` empty = the current one), with a
    /// lease the caller releases (`withLease` does both).
    func lease(_ name: String, version: String = "") throws(ServeError) -> ServedVersion {
        try entries.withLock { (e: inout [String: Entry]) throws(ServeError) -> ServedVersion in
            guard let entry = e[name] else {
                let served = e.keys.sorted().joined(separator: ", ")
                throw .notFound("model '\(name)' is not served" + (served.isEmpty ? " (none are)" : " (served: \(served))"))
            }
            guard let current = entry.current else {
                throw .unavailable("model '\(name)' is \(entry.state.rawValue)" + (entry.failure.isEmpty ? "" : ": \(entry.failure)"))
            }
            if !version.isEmpty {
                guard let number = Int32(version), number > 0 else {
                    throw .invalidArgument(item: name, field: "model_version", message: "'\(version)' is not a version number")
                }
                guard number == current.version else {
                    throw .notFound("version \(number) of model '\(name)' is not served (version \(current.version) is)")
                }
            }
            guard current.acquire() else { throw .unavailable("model '\(name)' is unloading") }
            return current
        }
    }

    /// Runs `body` with a lease on the serving version.
    func withLease<T: Sendable>(_ name: String, version: String = "", _ body: (ServedVersion) async throws -> T) async throws -> T {
        let served = try lease(name, version: version)
        defer { served.release() }
        return try await body(served)
    }

    public func status() -> [Status] {
        entries.withLock { e in
            e.keys.sorted().map { name in
                let entry = e[name]!
                return Status(name: name, reference: entry.reference.text, state: entry.state, version: entry.current?.version,
                              alias: entry.current?.alias ?? "", task: entry.current?.taskName ?? "", failure: entry.failure)
            }
        }
    }

    /// The serving version of each ready model.
    func servedVersions() -> [ServedVersion] {
        entries.withLock { e in e.keys.sorted().compactMap { e[$0]!.current } }
    }

    public var anyReady: Bool { entries.withLock { e in e.values.contains { $0.current != nil } } }

    /// Ready when every model asked for is serving a version (Triton's server readiness).
    public var allReady: Bool { entries.withLock { e in e.values.allSatisfy { $0.current != nil || $0.state == .unloaded } } }

    public func serves(_ name: String) -> Bool { entries.withLock { $0[name] != nil } }

    // MARK: loading

    /// Starts serving each reference in the background, retrying with backoff until it loads
    /// (the registry may be down or the model not published yet).
    public func start(_ references: [Visionfleet_V1_ModelRef]) {
        for ref in references {
            entries.withLock { e in
                if e[ref.name] == nil { e[ref.name] = Entry(reference: ref, state: .loading) }
            }
            let task = Task { [self] in
                var delay = settings.retryInitial
                while !Task.isCancelled {
                    do {
                        _ = try await load(ref)
                        return
                    } catch {
                        logger.warning("cannot load \(ref.text) yet; retrying in \(delay)", metadata: ["error": "\(error)"])
                    }
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, settings.retryMax)
                }
            }
            startupTasks.withLock { $0.append(task) }
        }
    }

    /// Loads `ref` (or swaps the model to the version it names now) and returns once that version
    /// is ready; the model's name is `ref.name`.
    @discardableResult
    public func load(_ ref: Visionfleet_V1_ModelRef) async throws -> ServedVersion {
        let name = ref.name
        guard !name.isEmpty else { throw ServeError.invalidArgument(item: "", field: "model_name", message: "must not be empty") }
        return try await serial.run(name) { [self] in try await performLoad(ref) }
    }

    /// `load`, then remembered so a restart serves the model again (RepositoryModelLoad).
    @discardableResult
    public func loadAndRemember(_ ref: Visionfleet_V1_ModelRef) async throws -> ServedVersion {
        let served = try await load(ref)
        try remembered?.remember(ref.name, reference: ref.text)
        return served
    }

    /// `unload`, and forgotten: a restart does not serve it again (RepositoryModelUnload).
    public func unloadAndForget(_ name: String) async throws {
        try await unload(name)
        try remembered?.forget(name)
    }

    /// Loads the version an event may have moved the model's reference to (coalesced: a burst
    /// of events resolves once). Keeps the current version if that fails.
    public func reconcile(_ name: String) {
        guard pendingReconcile.withLock({ $0.insert(name).inserted }) else { return }
        Task { [self] in
            _ = try? await serial.run(name) { [self] in
                pendingReconcile.withLock { _ = $0.remove(name) }
                guard let entry = entries.withLock({ $0[name] }), entry.state != .unloaded, entry.state != .draining else { return }
                do { _ = try await performLoad(entry.reference) } catch {
                    logger.warning("reconcile \(entry.reference.text) failed; still serving \(entry.current.map { "version \($0.version)" } ?? "nothing")",
                                   metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Stops serving `name`: no new requests; those in flight finish.
    public func unload(_ name: String) async throws {
        guard serves(name) else { throw ServeError.notFound("model '\(name)' is not served") }
        try await serial.run(name) { [self] in
            let old = entries.withLock { e -> ServedVersion? in
                guard var entry = e[name] else { return nil }
                let old = entry.current
                entry.current = nil
                entry.state = old == nil ? .unloaded : .draining
                e[name] = entry
                return old
            }
            readiness(anyReady)
            if let old { await old.drain() }
            entries.withLock { e in e[name]?.state = .unloaded }
            logger.info("unloaded \(name)")
        }
    }

    /// Cancels background loads and drains every model (graceful shutdown).
    public func shutdown() async {
        for task in startupTasks.withLock({ $0 }) { task.cancel() }
        for name in entries.withLock({ Array($0.keys) }) { try? await unload(name) }
        tracer.flush()
    }

    /// The model's instances (`BatchingConfig.automatic`: two for a small model on two or more
    /// cores, else one). Each gets its share of the cores and its own plan; with several, the
    /// first also keeps a plan on all of them, for batches that come while the others idle.
    static func runtimes(_ package: LoadedPackage, instances requested: Int) throws -> [ModelRuntime] {
        var count = requested
        if count == BatchingConfig.automatic {
            let whole = try ModelRuntime(package, threads: Parallel.threads)
            guard Parallel.threads >= 2, whole.keepsEveryBatchSize else { return [whole] }
            count = 2
        }
        let threads = max(1, Parallel.threads / count)
        return try (0..<count).map { i in
            try ModelRuntime(package, threads: threads, wideThreads: i == 0 && count > 1 ? Parallel.threads : 0)
        }
    }

    private func performLoad(_ ref: Visionfleet_V1_ModelRef) async throws -> ServedVersion {
        let name = ref.name
        let current = entries.withLock { e -> ServedVersion? in
            var entry = e[name] ?? Entry(reference: ref, state: .loading)
            entry.reference = ref
            if entry.current == nil { entry.state = .loading }
            e[name] = entry
            return entry.current
        }
        do {
            let info: Visionfleet_V1_ModelVersion
            do { info = try await source.resolve(ref) } catch { throw Self.sourceError(error, ref: ref) }
            if let current, current.version == info.version {
                entries.withLock { e in e[name]?.failure = "" }
                return current
            }
            let directory = try await fetch(info)
            if current == nil { entries.withLock { e in e[name]?.state = .warming } }
            let batching = try settings.batching(for: name)
            let alias: String = if case .alias(let a)? = ref.selector { a } else { "" }
            let galleryLog = settings.home.appendingPathComponent("galleries/\(name)/v\(info.version).log")
            let maxPixels = settings.maxImagePixels
            let metrics = self.metrics
            let served = try await Offload.run("vf-serve load \(name)@\(info.version)") {
                let package: LoadedPackage
                do { package = try ModelPackage.read(from: directory) } catch {
                    throw ServeError.failed("\(name)@\(info.version): the package does not load: \(error)")
                }
                let runtimes = try Self.runtimes(package, instances: batching.instances)
                var batching = batching
                batching.instances = runtimes.count
                let runtime = runtimes[0]
                var gallery: Gallery?
                if runtime.task == .retrieval {
                    let hnsw = HNSWIndex.Parameters()
                    let digest = (package.manifest.files[ModelPackage.galleryFile] ?? "none").split(separator: ":").last.map { String($0.prefix(16)) } ?? "none"
                    let graphCache = galleryLog.deletingLastPathComponent()
                        .appendingPathComponent("v\(info.version)-\(digest)-m\(hnsw.m)-ef\(hnsw.efConstruction).hnsw")
                    gallery = try Gallery(package: package.gallery, dimension: runtime.outputWidth, classNames: package.manifest.classNames,
                                          sources: package.gallerySources, log: galleryLog, graphCache: graphCache, hnsw: hnsw)
                }
                for r in runtimes { try r.warmUp(batchSizes: r.warmSizes(maxBatch: batching.maxBatchSize)) }
                return ServedVersion(name: name, version: info.version, alias: alias, runtimes: runtimes, batching: batching,
                                     maxPixels: maxPixels, gallery: gallery, metrics: metrics)
            }
            let old = entries.withLock { e -> ServedVersion? in
                var entry = e[name] ?? Entry(reference: ref, state: .ready)
                let old = entry.current
                entry.current = served
                entry.state = .ready
                entry.failure = ""
                e[name] = entry
                return old
            }
            readiness(anyReady)
            let was = old.map { " (was version \($0.version))" } ?? ""
            logger.info("ready: \(name)@\(info.version)\(was)",
                        metadata: ["reference": "\(ref.text)", "task": "\(served.taskName)", "backend": "\(served.backendName)",
                                  "batch_sizes": "\(served.runtime.ladder.map(String.init).joined(separator: ","))",
                                  "split_batches": "\(served.runtime.pieces.splitSummary)"])
            if let old { await old.drain() }
            return served
        } catch {
            entries.withLock { e in
                e[name]?.failure = "\(error)"
                if e[name]?.current == nil { e[name]?.state = .failed }
            }
            throw error
        }
    }

    /// The version's package folder under home, downloaded unless a verified copy is there.
    private func fetch(_ info: Visionfleet_V1_ModelVersion) async throws -> URL {
        let fm = FileManager.default
        let directory = settings.home.appendingPathComponent("models/\(info.model)/\(info.version)")
        if Self.cached(directory, matches: info) { return directory }
        let temp = settings.home.appendingPathComponent("models/\(info.model)/.\(info.version)-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: temp) }
        do { try await source.download(info, to: temp) } catch {
            throw Self.sourceError(error, ref: .with { $0.name = info.model; $0.version = info.version })
        }
        try? fm.removeItem(at: directory)
        try fm.moveItem(at: temp, to: directory)
        return directory
    }

    /// True when the folder holds every file of the version with the registry's digests
    /// (ModelPackage.read verifies the bytes again).
    static func cached(_ directory: URL, matches info: Visionfleet_V1_ModelVersion) -> Bool {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent(ModelPackage.manifestFile)),
              let manifest = try? JSONDecoder().decode(ModelManifest.self, from: data) else { return false }
        return info.files.allSatisfy { $0.path == ModelPackage.manifestFile || manifest.files[$0.path] == $0.digest }
    }

    static func sourceError(_ error: any Error, ref: Visionfleet_V1_ModelRef) -> ServeError {
        guard let rpc = error as? RPCError else { return .failed("\(ref.text): \(error)") }
        switch rpc.code {
        case .notFound: return .notFound("\(ref.text): \(rpc.message)")
        case .invalidArgument: return .invalidArgument(item: ref.text, field: "model", message: rpc.message)
        case .unavailable, .deadlineExceeded: return .unavailable("\(ref.text): the registry is unreachable: \(rpc.message)")
        default: return .failed("\(ref.text): the registry answered \(rpc.code): \(rpc.message)")
        }
    }
}
