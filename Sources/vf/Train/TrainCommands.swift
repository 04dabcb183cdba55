import ArgumentParser
import FleetProtos
import FleetRPC
import Foundation
import ServiceRuntime

/// `vf train …`: jobs in vf-train.
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Training jobs in vf-train (submit, ls, show, watch, logs, cancel, validate, plot).",
        subcommands: [TrainSubmit.self, TrainList.self, TrainShow.self, TrainWatch.self, TrainLogs.self, TrainCancel.self,
                      TrainRetryPublish.self, TrainValidate.self, TrainPlot.self])
}

/// Flags every `vf train` command takes.
struct TrainConnection: ParsableArguments {
    @Option(help: "vf-train address HOST:PORT (env VF_TRAIN_ADDR; default 127.0.0.1:50052).")
    var train: String?

    @Option(help: "Bearer token (env VISIONFLEET_TOKEN).")
    var token: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func client() throws -> TrainingClient { try TrainingClient(address: train, token: token) }
}

enum JobText {
    static func state(_ s: Visionfleet_V1_JobState) -> String { "\(s)".lowercased() }

    static func row(_ j: Visionfleet_V1_Job) -> [String] {
        [j.id, state(j.state), j.modelName, "\(j.dataset.name)@\(j.dataset.version)", "\(j.epoch)/\(j.totalEpochs)",
         j.bestMetrics.map { "\($0.name)=\(String(format: "%.4f", $0.value))" }.joined(separator: " "),
         j.publishedVersion > 0 ? "\(j.modelName)@\(j.publishedVersion)" : "-"]
    }

    static let header = ["ID", "STATE", "MODEL", "DATASET", "EPOCH", "BEST", "PUBLISHED"]

    static func line(_ e: Visionfleet_V1_JobEvent) -> String? {
        switch e.event {
        case .stateChanged(let s)?: return "state: \(state(s))"
        case .step(let s)?:
            let parts = s.lossParts.keys.sorted().map { String(format: "%@ %.3f", $0, s.lossParts[$0]!) }.joined(separator: " ")
            return String(format: "epoch %d step %d/%d  loss %.4f%@  lr %.4g  %.0f img/s  eta %.0fs", s.epoch, s.step, s.totalSteps, s.loss,
                          parts.isEmpty ? "" : " (\(parts))", s.learningRate, s.imagesPerSecond, s.etaSeconds)
        case .epoch(let s)?:
            return "epoch \(s.epoch): " + s.metrics.map { "\($0.name) \(String(format: "%.4f", $0.value))" }.joined(separator: ", ")
                + (s.isBest ? "  (best)" : "") + String(format: "  %.1fs", s.wallSeconds)
        case .log(let text)?: return text
        case .peakRssBytes(let bytes)?: return String(format: "worker peak memory %.0f MiB", Double(bytes) / 1_048_576)
        case .publishedVersion(let v)?: return "published version \(v)"
        case .trainImagesPerSecond(let rate)?: return String(format: "trained at %.0f images/s", rate)
        case .checkpointWritten?: return nil
        case nil: return nil
        }
    }
}

struct TrainSubmit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "submit", abstract: "Queue a training job.")
    @OptionGroup var connection: TrainConnection
    @Option(help: "Config file (YAML) or the name of a shipped config, e.g. classification/resnet20_fashion_mnist.") var config: String
    @Option(help: "Dataset NAME@VERSION (or NAME for the latest).") var dataset: String
    @Option(help: "Registry model to publish into.") var name: String
    @Option(help: "Alias to point at the published version (repeatable).") var alias: [String] = []
    @Option(name: .customLong("set"), help: "Config override key.path=value (repeatable).") var overrides: [String] = []
    @Option(help: "Idempotency key: submitting again with it returns the same job.") var key: String?
    @Option(help: "Fail the job after this many seconds of running (0 = no limit).") var maxRuntime: Int64 = 0
    @Flag(help: "Follow the job to its end.") var follow = false

    func run() async throws {
        let text = FileManager.default.fileExists(atPath: config) ? try String(contentsOfFile: config, encoding: .utf8) : config
        let client = try connection.client()
        let job = try await client.submit(.with {
            $0.configYaml = text; $0.overrides = overrides; $0.modelName = name; $0.aliases = alias
            $0.dataset = try DatasetRefText.parse(dataset); $0.idempotencyKey = key ?? ""
            $0.maxRuntimeSeconds = maxRuntime
        })
        if !follow {
            if connection.json { return try RegistryCommand.printJSON([job], single: true) }
            return TextTable.print(JobText.header, [JobText.row(job)])
        }
        print("submitted \(job.id); Ctrl-C detaches (the job keeps running): vf train watch \(job.id)")
        try await TrainWatch.follow(job.id, client: client, json: connection.json)
    }
}

struct TrainList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List jobs.")
    @OptionGroup var connection: TrainConnection
    @Option(help: "Only jobs of this model.") var model: String = ""

    func run() async throws {
        let jobs = try await connection.client().listJobs(model: model)
        if connection.json { return try RegistryCommand.printJSON(jobs) }
        TextTable.print(JobText.header, jobs.map(JobText.row))
    }
}

struct TrainShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a job.")
    @OptionGroup var connection: TrainConnection
    @Argument var id: String

    func run() async throws {
        let job = try await connection.client().job(id)
        if connection.json { return try RegistryCommand.printJSON([job], single: true) }
        TextTable.print(JobText.header, [JobText.row(job)])
        if !job.failureReason.isEmpty { print("failure: \(job.failureReason)") }
        print("attempts: \(job.attempts)  config: \(job.configDigest)"
              + (job.peakRssBytes > 0 ? String(format: "  worker peak memory: %.0f MiB", Double(job.peakRssBytes) / 1_048_576) : "")
              + (job.trainImagesPerSecond > 0 ? String(format: "  trained at %.0f images/s", job.trainImagesPerSecond) : ""))
    }
}

struct TrainWatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "watch", abstract: "Follow a job's events to its end (exit 1 if it failed).")
    @OptionGroup var connection: TrainConnection
    @Argument var id: String
    @Option(help: "Replay events after this sequence only.") var from: Int64 = 0

    func run() async throws { try await Self.follow(id, client: try connection.client(), from: from, json: connection.json) }

    static func follow(_ id: String, client: TrainingClient, from: Int64 = 0, json: Bool) async throws {
        try await client.watch(id, from: from) { event in
            if json { try RegistryCommand.printJSON([event], single: true) } else if let line = JobText.line(event) { print(line) }
            return true
        }
        let job = try await client.job(id)
        if !json { TextTable.print(JobText.header, [JobText.row(job)]) }
        if job.state == .failed {
            FileHandle.standardError.write(Data("job \(id) failed: \(job.failureReason)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// `vf train logs ID`: the job's log lines so far (no following).
struct TrainLogs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print a job's log lines.")
    @OptionGroup var connection: TrainConnection
    @Argument var id: String

    func run() async throws {
        let client = try connection.client()
        let job = try await client.job(id)
        let final = [.succeeded, .failed, .cancelled].contains(job.state)
        var lines: [String] = []
        // A finished job's stream ends by itself; a live one is read up to what exists now.
        let started = Date()
        try await client.watch(id) { event in
            if case .log(let text)? = event.event { lines.append(text) }
            return final || Date().timeIntervalSince(started) < 0.5
        }
        if connection.json { print(String(decoding: try JSONSerialization.data(withJSONObject: lines), as: UTF8.self)) } else {
            for line in lines { print(line) }
        }
    }
}

struct TrainCancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a job.")
    @OptionGroup var connection: TrainConnection
    @Argument var id: String

    func run() async throws {
        let job = try await connection.client().cancel(id)
        if connection.json { return try RegistryCommand.printJSON([job], single: true) }
        TextTable.print(JobText.header, [JobText.row(job)])
    }
}

struct TrainRetryPublish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "retry-publish", abstract: "Publish again a job that failed while publishing.")
    @OptionGroup var connection: TrainConnection
    @Argument var id: String

    func run() async throws {
        let job = try await connection.client().retryPublish(id)
        if connection.json { return try RegistryCommand.printJSON([job], single: true) }
        TextTable.print(JobText.header, [JobText.row(job)])
    }
}

struct TrainValidate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "validate", abstract: "Check a config (and overrides) without submitting.")
    @OptionGroup var connection: TrainConnection
    @Argument(help: "Config file or shipped config name.") var config: String
    @Option(name: .customLong("set"), help: "Config override key.path=value (repeatable).") var overrides: [String] = []

    func run() async throws {
        let text = FileManager.default.fileExists(atPath: config) ? try String(contentsOfFile: config, encoding: .utf8) : config
        let r = try await connection.client().validate(text, overrides: overrides)
        if connection.json { return try RegistryCommand.printJSON([r], single: true) }
        if r.valid { print(r.resolvedYaml) } else {
            TextTable.print(["FIELD", "PROBLEM"], r.errors.map { [$0.field, $0.message] })
            throw ExitCode(1)
        }
    }
}
