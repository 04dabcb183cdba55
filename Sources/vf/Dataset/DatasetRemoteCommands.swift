import ArgumentParser
import FleetProtos
import FleetRPC
import Foundation
import ServiceRuntime

/// Flags every remote `vf dataset` command takes.
struct IngestConnection: ParsableArguments {
    @Option(help: "vf-ingest address HOST:PORT (env VF_INGEST_ADDR; default 127.0.0.1:50051).")
    var ingest: String?

    @Option(help: "Bearer token (env VISIONFLEET_TOKEN).")
    var token: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func client() throws -> DatasetClient { try DatasetClient(address: ingest, token: token) }
}

enum DatasetRefText {
    /// `NAME@V` or `NAME` (= latest).
    static func parse(_ text: String) throws -> Visionfleet_V1_DatasetRef {
        let parts = text.split(separator: "@", maxSplits: 1)
        var ref = Visionfleet_V1_DatasetRef()
        ref.name = String(parts.first ?? "")
        if parts.count == 2 {
            guard let v = Int32(parts[1]), v > 0 else { throw ValidationError("\(text): expected NAME@VERSION with a version ≥ 1") }
            ref.version = v
        }
        return ref
    }

    static func format(_ text: String) throws -> Visionfleet_V1_DatasetFormat {
        switch text {
        case "coco": .coco
        case "yolo": .yolo
        case "voc": .voc
        case "imagefolder": .imageFolder
        case "csv": .csv
        case "labelstudio": .labelStudio
        case "idx": .idx
        case "cvat": .cvat
        default: throw ValidationError("--format \(text): expected coco, yolo, voc, imagefolder, csv, labelstudio, cvat or idx")
        }
    }
}

/// `vf dataset import`: streams a dataset folder to vf-ingest and commits a version.
struct DatasetImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Import a dataset folder (or annotation file) into vf-ingest.")
    @OptionGroup var connection: IngestConnection
    @Argument(help: "Dataset folder, or the annotation file of COCO / CSV / Label Studio.") var path: String
    @Option(help: "Dataset name.") var name: String
    @Option(help: "coco, yolo, voc, imagefolder, csv, labelstudio, idx.") var format: String
    @Option(help: "classification or detection (default: from the format).") var task: String?
    @Option(help: "Validation hold-out when the format has no split.") var valFraction: Double = 0.1
    @Option(help: "Seed of the hold-out.") var seed: UInt64 = 0
    @Flag(help: "Commit the good items and list the bad ones (default: any bad item rejects the import).") var lenient = false

    func run() async throws {
        let client = try connection.client()
        let options = Visionfleet_V1_ImportOptions.with { $0.valFraction = valFraction; $0.splitSeed = seed; $0.allowPartial = lenient }
        let taskType: Visionfleet_V1_TaskType = switch task {
        case nil: .unspecified
        case "classification": .classification
        case "detection": .detection
        case let other?: throw ValidationError("--task \(other): expected classification or detection")
        }
        let bar = connection.json ? nil : ImportBar()
        do {
            let r = try await client.importDataset(path: URL(fileURLWithPath: path), name: name, format: try DatasetRefText.format(format),
                                                   task: taskType, options: options, progress: bar?.callback)
            if connection.json { return try RegistryCommand.printJSON([r], single: true) }
            let v = r.version
            print("\(v.dataset)@\(v.version)\(r.reusedVersion ? " (identical to the latest version: nothing new)" : ""): \(v.imageCount) images, \(v.annotationCount) annotations, \(v.categories.count) classes; split \(v.splitCounts.sorted { $0.key > $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")); \(r.blobsDeduplicated) images already stored")
            if !r.errors.isEmpty {
                print("\(r.rejectedItems) items left out:")
                TextTable.print(["ITEM", "FIELD", "PROBLEM"], r.errors.map { [$0.item, $0.field, $0.message] })
            }
        } catch let error as RPCError {
            guard let rejection = DatasetClient.rejection(error) else { throw error }
            if connection.json { try RegistryCommand.printJSON([rejection], single: true) } else {
                print("import rejected: \(rejection.errors.count) problems, nothing was stored (--lenient commits the good items)")
                TextTable.print(["ITEM", "FIELD", "PROBLEM"], rejection.errors.map { [$0.item, $0.field, $0.message] })
            }
            throw ExitCode(1)
        }
    }
}

struct DatasetList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List datasets in vf-ingest.")
    @OptionGroup var connection: IngestConnection

    func run() async throws {
        let datasets = try await connection.client().listDatasets()
        if connection.json { return try RegistryCommand.printJSON(datasets) }
        TextTable.print(["NAME", "TASK", "LATEST", "DESCRIPTION"], datasets.map {
            [$0.name, RegistryCommand.taskName($0.task), $0.latestVersion == 0 ? "-" : "\($0.latestVersion)", $0.description_p]
        })
    }
}

struct DatasetShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a dataset version (NAME@V or NAME for the latest).")
    @OptionGroup var connection: IngestConnection
    @Argument var ref: String

    func run() async throws {
        let v = try await connection.client().version(try DatasetRefText.parse(ref))
        if connection.json { return try RegistryCommand.printJSON([v], single: true) }
        print("\(v.dataset)@\(v.version) from \(v.sourceFormat), created \(RegistryCommand.date(v.createdAt))")
        print("digest      \(v.manifestDigest)")
        print("images      \(v.imageCount) (\(v.totalBytes) bytes), annotations \(v.annotationCount)")
        print("split       \(v.splitCounts.sorted { $0.key > $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")) (val fraction \(v.valFraction), seed \(v.splitSeed))")
        if v.hasBoxStats {
            let b = v.boxStats
            print(String(format: "boxes       %d, mean %.1f×%.1f px, %.2f per image; small %d, medium %d, large %d", b.count, b.meanWidth, b.meanHeight,
                         b.meanBoxesPerImage, b.small, b.medium, b.large))
        }
        TextTable.print(["CLASS", "ID", "INSTANCES"], v.categories.map { ["\($0.name)", "\($0.id)", "\(v.classCounts[$0.name] ?? 0)"] })
        if !v.warnings.isEmpty { print("\(v.warnings.count) items were left out at import (vf dataset show --json lists them)") }
    }
}

struct DatasetItems: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "items", abstract: "List a version's items.")
    @OptionGroup var connection: IngestConnection
    @Argument var ref: String
    @Option(help: "train, val or test.") var split: String?

    func run() async throws {
        let s: Visionfleet_V1_Split = switch split {
        case nil: .unspecified
        case "train": .train
        case "val": .val
        case "test": .test
        case let other?: throw ValidationError("--split \(other): expected train, val or test")
        }
        let items = try await connection.client().items(try DatasetRefText.parse(ref), split: s)
        if connection.json { return try RegistryCommand.printJSON(items) }
        TextTable.print(["FILE", "SIZE", "SPLIT", "CLASS", "BOXES", "BLOB"], items.map { i in
            [i.fileName, "\(i.width)×\(i.height)", "\(i.split)".lowercased(), i.classID >= 0 ? "\(i.classID)" : "-", "\(i.annotations.count)",
             String(i.blobDigest.prefix(19))]
        })
    }
}

/// `vf dataset export`: a version in a format's layout, images included, unpacked into a folder.
struct DatasetExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Export a version as COCO, YOLO, VOC, ImageFolder, ….")
    @OptionGroup var connection: IngestConnection
    @Argument(help: "NAME@VERSION (or NAME for the latest).") var ref: String
    @Option(help: "coco, yolo, voc, imagefolder, csv, labelstudio, cvat, idx.") var format: String
    @Option(help: "Output folder.") var out: String
    @Flag(help: "Annotations only, no image files.") var noImages = false

    func run() async throws {
        let bar = connection.json ? nil : TransferBar("export")
        var progress: (@Sendable (Int64) -> Void)?
        if let bar { progress = { done in bar.update(done, done) } }
        let files = try await connection.client().exportDataset(try DatasetRefText.parse(ref), format: try DatasetRefText.format(format),
                                                                to: URL(fileURLWithPath: out), includeImages: !noImages, progress: progress)
        if connection.json { print(#"{"out":"\#(out)","files":\#(files.count)}"#) } else { print("wrote \(files.count) files to \(out)") }
    }
}

struct DatasetDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a dataset and its versions.")
    @OptionGroup var connection: IngestConnection
    @Argument var name: String

    func run() async throws {
        try await connection.client().deleteDataset(name)
        if connection.json { print(#"{"deleted":"\#(name)"}"#) } else { print("deleted \(name)") }
    }
}
