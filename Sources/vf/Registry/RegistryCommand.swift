import ArgumentParser
import FleetProtos
import Foundation
import ServiceRuntime
import SwiftProtobuf

/// `vf registry …`: the model registry from the command line.
struct RegistryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry", abstract: "Models, versions and aliases in vf-registry.",
        subcommands: [Models.self, Versions.self, Show.self, Upload.self, Download.self, AliasCommand.self, Delete.self,
                      Watch.self, GC.self])

    /// JSON of protobuf messages: one object, or an array for a listing.
    static func printJSON<M: SwiftProtobuf.Message>(_ messages: [M], single: Bool = false) throws {
        var options = JSONEncodingOptions()
        options.alwaysPrintInt64sAsNumbers = true
        let texts = try messages.map { try $0.jsonString(options: options) }
        print(single ? (texts.first ?? "{}") : "[" + texts.joined(separator: ",") + "]")
    }

    static func date(_ t: Google_Protobuf_Timestamp) -> String {
        ISO8601DateFormatter().string(from: t.date)
    }

    static func taskName(_ t: Visionfleet_V1_TaskType) -> String {
        switch t {
        case .classification: "classification"
        case .detection: "detection"
        case .retrieval: "retrieval"
        default: "-"
        }
    }

    static func parseTask(_ text: String?) throws -> Visionfleet_V1_TaskType {
        switch text {
        case nil: .unspecified
        case "classification": .classification
        case "detection": .detection
        case "retrieval": .retrieval
        case let other?: throw ValidationError("--task \(other): expected classification, detection or retrieval")
        }
    }

    struct Models: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List models.")
        @OptionGroup var connection: RegistryConnection
        @Option(help: "Only this task: classification, detection, retrieval.") var task: String?

        func run() async throws {
            let models = try await connection.client().listModels(task: try RegistryCommand.parseTask(task))
            if connection.json { return try RegistryCommand.printJSON(models) }
            TextTable.print(["NAME", "TASK", "LATEST", "ALIASES", "DESCRIPTION"], models.map { m in
                [m.name, RegistryCommand.taskName(m.task), m.latestVersion == 0 ? "-" : "\(m.latestVersion)",
                 m.aliases.sorted { $0.key < $1.key }.map { "\($0.key)→\($0.value)" }.joined(separator: " "), m.description_p]
            })
        }
    }

    struct Versions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a model's versions.")
        @OptionGroup var connection: RegistryConnection
        @Argument(help: "Model name.") var name: String

        func run() async throws {
            let versions = try await connection.client().listVersions(name)
            if connection.json { return try RegistryCommand.printJSON(versions) }
            TextTable.print(["VERSION", "CREATED", "BY", "SIZE", "ALIASES", "METRICS"], versions.map { v in
                ["\(v.version)", RegistryCommand.date(v.createdAt), v.createdBy, String(format: "%.1f MiB", Double(v.totalSize) / 1_048_576),
                 v.aliases.joined(separator: ","), v.metrics.prefix(4).map { String(format: "%@=%.4f", $0.name, $0.value) }.joined(separator: " ")]
            })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one version: NAME@VERSION, NAME@ALIAS or NAME (latest).")
        @OptionGroup var connection: RegistryConnection
        @Argument(help: "NAME@VERSION | NAME@ALIAS | NAME") var ref: String

        func run() async throws {
            let v = try await connection.client().version(Visionfleet_V1_ModelRef(parsing: ref))
            if connection.json { return try RegistryCommand.printJSON([v], single: true) }
            print("\(v.model) version \(v.version) (\(RegistryCommand.taskName(v.task)))")
            print("created     \(RegistryCommand.date(v.createdAt)) by \(v.createdBy)")
            if !v.aliases.isEmpty { print("aliases     \(v.aliases.joined(separator: ", "))") }
            if !v.description_p.isEmpty { print("description \(v.description_p)") }
            if v.hasLineage { print("lineage     dataset \(v.lineage.dataset.name)@\(v.lineage.dataset.version), job \(v.lineage.jobID)") }
            for m in v.metrics { print(String(format: "metric      %@ %.4f", m.name, m.value)) }
            for (k, value) in v.tags.sorted(by: { $0.key < $1.key }) { print("tag         \(k)=\(value)") }
            TextTable.print(["FILE", "SIZE", "DIGEST"], v.files.map { [$0.path, "\($0.size)", $0.digest] })
        }
    }

    struct Upload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Upload a package folder (what vf train-local writes) as a new version.")
        @OptionGroup var connection: RegistryConnection
        @Argument(help: "Package folder with manifest.json.") var directory: String
        @Option(help: "Model name (created with the manifest's task if new).") var name: String
        @Option(help: "Alias to point at the new version (repeatable).") var alias: [String] = []
        @Option(help: "Version description.") var description: String = ""
        @Option(help: "Tag key=value (repeatable).") var tag: [String] = []

        func run() async throws {
            var tags: [String: String] = [:]
            for t in tag {
                guard let eq = t.firstIndex(of: "=") else { throw ValidationError("--tag \(t): expected key=value") }
                tags[String(t[..<eq])] = String(t[t.index(after: eq)...])
            }
            let bar = connection.json ? nil : TransferBar("upload")
            let progress: TransferProgress? = bar?.callback
            let v = try await connection.client().upload(directory: URL(fileURLWithPath: directory), model: name, aliases: alias,
                                                         description: description, tags: tags, progress: progress)
            if connection.json { return try RegistryCommand.printJSON([v], single: true) }
            print("\(v.model)@\(v.version)" + (v.aliases.isEmpty ? "" : " (\(v.aliases.joined(separator: ", ")))"))
        }
    }

    struct Download: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Download a version's files into a folder (digests checked).")
        @OptionGroup var connection: RegistryConnection
        @Argument(help: "NAME@VERSION | NAME@ALIAS | NAME") var ref: String
        @Option(help: "Folder to write into.") var out: String

        func run() async throws {
            let bar = connection.json ? nil : TransferBar("download")
            let progress: TransferProgress? = bar?.callback
            let v = try await connection.client().download(Visionfleet_V1_ModelRef(parsing: ref), to: URL(fileURLWithPath: out),
                                                           progress: progress)
            if connection.json { return try RegistryCommand.printJSON([v], single: true) }
            print("\(v.model)@\(v.version) → \(out) (\(v.files.count) files)")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a model (NAME) or one version (NAME@VERSION); refused while an alias points at it.")
        @OptionGroup var connection: RegistryConnection
        @Argument(help: "NAME or NAME@VERSION") var target: String

        func run() async throws {
            let client = try connection.client()
            if target.contains("@") {
                let ref = Visionfleet_V1_ModelRef(parsing: target)
                try await client.deleteVersion(ref)
            } else {
                try await client.deleteModel(target)
            }
            if connection.json { print(#"{"deleted":"\#(target)"}"#) } else { print("deleted \(target)") }
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Follow the registry's events (replayed from --from, then live).")
        @OptionGroup var connection: RegistryConnection
        @Option(help: "Replay events after this sequence.") var from: Int64 = 0
        @Option(help: "Only this model's events.") var model: String = ""
        @Option(help: "Stop after this many events.") var count: Int?

        func run() async throws {
            var seen = 0
            try await connection.client().watch(from: from, model: model) { event in
                // Unbuffered, so a pipe sees each event as it happens.
                let line = connection.json ? try event.jsonString()
                    : "\(event.sequence)\t\(RegistryCommand.date(event.time))\t\(Self.describe(event))"
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
                seen += 1
                return count.map { seen < $0 } ?? true
            }
        }

        static func describe(_ e: Visionfleet_V1_RegistryEvent) -> String {
            switch e.event {
            case .versionCreated(let v)?: "version created \(v.model)@\(v.version)"
            case .versionDeleted(let v)?: "version deleted \(v.model)@\(v.version)"
            case .aliasChanged(let a)?: "alias \(a.model)@\(a.alias): \(a.fromVersion == 0 ? "-" : "\(a.fromVersion)") → \(a.toVersion == 0 ? "deleted" : "\(a.toVersion)") by \(a.changedBy)"
            case .modelDeleted(let name)?: "model deleted \(name)"
            case .modelCreated(let m)?: "model created \(m.name)"
            case nil: "?"
            }
        }
    }

    struct GC: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "gc", abstract: "Remove blobs no version references.")
        @OptionGroup var connection: RegistryConnection
        @Flag(help: "Report only.") var dryRun = false

        func run() async throws {
            let r = try await connection.client().garbageCollect(dryRun: dryRun)
            if connection.json { return try RegistryCommand.printJSON([r], single: true) }
            print("\(dryRun ? "would remove" : "removed") \(r.blobsRemoved) blobs (\(r.bytesFreed) bytes), kept \(r.blobsKept), \(r.tempFilesRemoved) temp files")
        }
    }
}
