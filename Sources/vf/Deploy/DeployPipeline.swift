import FleetProtos
import FleetRPC
import Foundation
import ServiceRuntime
import VisionData

/// `vf deploy`'s steps against a running fleet: import → train (default config sized to the
/// data) → publish and point `NAME@production` → vf-serve ready. Each step is idempotent: the
/// same data is the same dataset version, and the same version + config is the same job, so a
/// re-run after a failure resumes where it stopped.
struct DeployPipeline {
    struct Request {
        var name: String
        /// classification, detection or retrieval; nil = the dataset's task.
        var task: String?
        /// A config file, a shipped config name, or nil for the default sized to the data.
        var config: String?
        var epochs: Int?
        var overrides: [String] = []
    }

    struct Result: Encodable {
        var model: String
        var version: Int32
        var job: String
        var task: String
        var dataset: String
        var metrics: [String: Double]
        /// Wall seconds of each step that ran (import, train, serve).
        var seconds: [String: Double]
        var reusedJob: Bool
    }

    /// A step that failed: what happened and what to do next (the fleet stays up).
    struct Failure: Error, CustomStringConvertible {
        var step: String
        var message: String
        var next: String
        var description: String { "\(step) failed: \(message)\nnext: \(next)" }
    }

    let environment: [String: String]
    var quiet = false

    func say(_ text: String) { if !quiet { FileHandle.standardError.write(Data("\(text)\n".utf8)) } }

    /// Imports `path`; a rejected import prints every item's problem and fails the step.
    func importData(path: String, format: String, name: String, task: String?, valFraction: Double, seed: UInt64,
                    lenient: Bool) async throws -> (version: Visionfleet_V1_DatasetVersion, seconds: Double) {
        let start = Date()
        let client = try DatasetClient(environment: environment)
        let taskType: Visionfleet_V1_TaskType = switch task {
        case "detection": .detection
        case "classification", "retrieval": .classification
        default: .unspecified
        }
        let options = Visionfleet_V1_ImportOptions.with { $0.valFraction = valFraction; $0.splitSeed = seed; $0.allowPartial = lenient }
        let bar = quiet ? nil : ImportBar()
        do {
            let r = try await client.importDataset(path: URL(fileURLWithPath: path), name: name, format: try DatasetRefText.format(format),
                                                   task: taskType, options: options, progress: bar?.callback)
            let v = r.version
            say("dataset \(v.dataset)@\(v.version)\(r.reusedVersion ? " (the same data as before: version reused)" : ""): \(v.imageCount) images, "
                + "\(v.categories.count) classes, split " + v.splitCounts.sorted { $0.key > $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            if !r.errors.isEmpty {
                say("\(r.rejectedItems) items left out (--lenient):")
                TextTable.print(["ITEM", "FIELD", "PROBLEM"], r.errors.map { [$0.item, $0.field, $0.message] })
            }
            return (v, Date().timeIntervalSince(start))
        } catch let error as RPCError {
            if let rejection = DatasetClient.rejection(error) {
                print("import rejected: \(rejection.errors.count) problems, nothing was stored")
                TextTable.print(["ITEM", "FIELD", "PROBLEM"], rejection.errors.map { [$0.item, $0.field, $0.message] })
                throw Failure(step: "import", message: "\(rejection.errors.count) items have problems (listed above)",
                              next: "fix those items (or pass --lenient to commit the good ones) and run the same vf deploy again; the fleet keeps running")
            }
            throw Failure(step: "import", message: "\(error.code): \(error.message)",
                          next: "check PATH and --format; vf status shows the fleet, vf-ingest's log is under the fleet home's logs/")
        }
    }

    /// Trains on `version`, publishes, points production at it and waits until vf-serve serves it.
    func trainAndServe(_ version: Visionfleet_V1_DatasetVersion, request: Request) async throws -> Result {
        let datasets = try DatasetClient(environment: environment)
        let ref = Visionfleet_V1_DatasetRef.with { $0.name = version.dataset; $0.version = version.version }
        let dataset = try await datasets.dataset(version.dataset)
        let task = request.task ?? (dataset.task == .detection ? "detection" : "classification")
        guard let taskKind = DefaultTrainingConfig.Task(rawValue: task) else {
            throw Failure(step: "train", message: "--task \(task) is not a task", next: "use classification, detection or retrieval")
        }
        if taskKind == .detection && dataset.task != .detection {
            throw Failure(step: "train", message: "\(version.dataset) holds class labels, not boxes", next: "deploy it with --task classification or retrieval")
        }
        var seconds: [String: Double] = [:]
        let configText: String
        if let config = request.config {
            configText = FileManager.default.fileExists(atPath: config) ? try String(contentsOfFile: config, encoding: .utf8) : config
        } else {
            var config = try await defaultConfig(taskKind, ref: ref, datasets: datasets)
            config.requestedEpochs = request.epochs
            configText = config.yaml
        }
        var overrides = request.overrides
        if let epochs = request.epochs, request.config != nil { overrides.append("train.epochs=\(epochs)") }

        // Submit (or find the job this same request submitted before).
        let trainStart = Date()
        let training = try TrainingClient(environment: environment)
        let keyText = ["vf deploy", request.name, "\(version.dataset)@\(version.version)", version.manifestDigest, configText] + overrides
        var key = String(SHA256Digest.of(Data(keyText.joined(separator: "\u{1F}").utf8)).suffix(32))
        var submission = Visionfleet_V1_SubmitJobRequest.with {
            $0.configYaml = configText; $0.overrides = overrides; $0.modelName = request.name; $0.aliases = ["production"]
            $0.dataset = ref; $0.idempotencyKey = key
        }
        var job: Visionfleet_V1_Job
        do { job = try await training.submit(submission) } catch let error as RPCError {
            throw Failure(step: "train", message: "\(error.code): \(error.message)",
                          next: "fix the config (vf train validate shows the resolved one; --set key=value overrides) and run vf deploy again")
        }
        if job.state == .failed || job.state == .cancelled {
            say("the earlier job \(job.id) for this data and config \("\(job.state)".lowercased()) (\(job.failureReason)); training again")
            key += "-after-\(job.id)"
            submission.idempotencyKey = key
            job = try await training.submit(submission)
        }
        let reused = job.state == .succeeded
        say(reused ? "training: job \(job.id) already trained this data and config (\(request.name)@\(job.publishedVersion))"
                   : "training: job \(job.id), \(job.totalEpochs) epochs (vf train watch \(job.id) follows it from elsewhere)")
        if !reused {
            let bar = quiet ? nil : TrainingProgressBar(totalEpochs: job.totalEpochs, task: task)
            try await training.watch(job.id) { event in bar?.handle(event); return true }
            bar?.finish()
            job = try await training.job(job.id)
        }
        guard job.state == .succeeded else {
            throw Failure(step: "train", message: "job \(job.id) \("\(job.state)".lowercased()): \(job.failureReason)",
                          next: "vf train logs \(job.id) shows why; fix it and run vf deploy again (the dataset version is reused)")
        }
        seconds["train"] = Date().timeIntervalSince(trainStart)

        // production → the published version (vf-train moves it; make sure).
        let registry = try RegistryClient(environment: environment)
        let production = try? await registry.version(.with { $0.name = request.name; $0.alias = "production" })
        if production?.version != job.publishedVersion {
            _ = try await registry.setAlias(request.name, "production", version: job.publishedVersion, reason: "vf deploy")
        }

        // vf-serve: load NAME@production (a swap when it already serves an older version).
        let serveStart = Date()
        say("serving \(request.name)@production (version \(job.publishedVersion)) …")
        let vision = try VisionClient(environment: environment)
        do {
            try await vision.load("\(request.name)@production")
            guard try await vision.ready(request.name) else { throw RPCError(code: .unavailable, message: "loaded but not ready") }
        } catch let error as RPCError {
            throw Failure(step: "serve", message: "\(error.code): \(error.message)",
                          next: "vf status shows vf-serve; its log is under the fleet home's logs/serve.log; vf deploy again retries")
        }
        seconds["serve"] = Date().timeIntervalSince(serveStart)
        var metrics: [String: Double] = [:]
        for m in job.bestMetrics { metrics[m.name] = m.value }
        return Result(model: request.name, version: job.publishedVersion, job: job.id, task: task,
                      dataset: "\(version.dataset)@\(version.version)", metrics: metrics, seconds: seconds, reusedJob: reused)
    }

    /// The default config: input size from the images' median size, channels from one image.
    private func defaultConfig(_ task: DefaultTrainingConfig.Task, ref: Visionfleet_V1_DatasetRef,
                               datasets: DatasetClient) async throws -> DefaultTrainingConfig {
        let items = try await datasets.items(ref, split: .train)
        guard let first = items.first else {
            throw Failure(step: "train", message: "\(ref.name)@\(ref.version) has no training images", next: "import a dataset with images in its train split")
        }
        func median(_ values: [Int32]) -> Int { Int(values.sorted()[values.count / 2]) }
        let channels: Int
        do { channels = try ImageCodec.decode(try await datasets.blob(first.blobDigest), name: first.fileName).channels == 1 ? 1 : 3 } catch {
            channels = 3
        }
        return DefaultTrainingConfig(task: task, trainImages: items.count, width: median(items.map(\.width)),
                                     height: median(items.map(\.height)), channels: channels)
    }
}
