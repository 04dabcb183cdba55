import ArgumentParser
import Foundation
import VisionData

struct DatasetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset", abstract: "Datasets in vf-ingest (import, ls, show, items, export, delete, synth --name) and local tools (synth --out, convert).",
        subcommands: [DatasetImport.self, DatasetList.self, DatasetShow.self, DatasetItems.self, DatasetExport.self, DatasetDelete.self,
                      Synth.self, Convert.self])
}

/// `vf dataset synth`: the deterministic synthetic shapes detection dataset, written as COCO
/// (or any box format) with PNG images (`--out`), or rendered by vf-ingest as a version (`--name`).
struct Synth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The synthetic shapes detection dataset: into a folder (--out) or as a vf-ingest version (--name).")

    @OptionGroup var connection: IngestConnection
    @Option(help: "Output folder (local).") var out: String?
    @Option(help: "Dataset name in vf-ingest (remote).") var name: String?
    @Option(help: "Validation hold-out (remote).") var valFraction: Double = 0.1
    @Option(help: "Number of images.") var count = 1000
    @Option(help: "Image side in pixels.") var size = 128
    @Option(help: "Seed: the same seed writes the same dataset.") var seed: UInt64 = 0
    @Option(help: "Format to write: coco, yolo, voc, labelstudio.") var format = "coco"

    func validate() throws {
        guard (out == nil) != (name == nil) else { throw ValidationError("give one of --out DIR (local files) or --name NAME (a vf-ingest version)") }
        guard count > 0 else { throw ValidationError("--count must be positive") }
        guard size >= 16 && size <= 4096 else { throw ValidationError("--size must be 16...4096") }
        guard let f = DatasetFormat(rawValue: format), [.coco, .yolo, .voc, .labelstudio].contains(f) else {
            throw ValidationError("--format \(format): shapes are boxes; write coco, yolo, voc or labelstudio")
        }
    }

    func run() async throws {
        if let name {
            let r = try await connection.client().generateSynthetic(name: name, count: Int32(count), imageSize: Int32(size), seed: seed,
                                                                   options: .with { $0.valFraction = valFraction })
            if connection.json { return try RegistryCommand.printJSON([r], single: true) }
            let v = r.version
            print("\(v.dataset)@\(v.version)\(r.reusedVersion ? " (identical to the latest version)" : ""): \(v.imageCount) images, \(v.annotationCount) objects; split \(v.splitCounts.sorted { $0.key > $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
            return
        }
        guard let out else { return }
        let url = URL(fileURLWithPath: out)
        let dataset = ShapesGenerator(size: size).dataset(count: count, seed: seed, root: url)
        try DatasetFormat(rawValue: format)!.write(dataset, to: url)
        let objects = dataset.images.reduce(0) { $0 + $1.boxes.count }
        print("wrote \(count) images with \(objects) objects (\(ShapesGenerator.classNames.joined(separator: ", "))) to \(out) as \(format)")
    }
}

/// `vf dataset convert`: reads any supported format, reports per-item problems, writes another.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Convert between dataset formats, listing problem items.")

    @Option(help: "Source format: \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", ")).") var from: String
    @Option(name: .customLong("in"), help: "Source folder or annotation file.") var input: String
    @Option(help: "Target format.") var to: String
    @Option(help: "Output folder.") var out: String
    @Flag(help: "Decode every image fully while reading (finds corrupt pixel data).") var verify = false

    func run() throws {
        guard let source = DatasetFormat(rawValue: from) else { throw ValidationError("--from \(from): unknown format") }
        guard let target = DatasetFormat(rawValue: to) else { throw ValidationError("--to \(to): unknown format") }
        let read = try source.read(URL(fileURLWithPath: input), options: .init(verifyPixels: verify))
        for problem in read.problems { FileHandle.standardError.write(Data("skipped \(problem)\n".utf8)) }
        try target.write(read.dataset, to: URL(fileURLWithPath: out))
        print("\(read.dataset.images.count) images, \(read.dataset.categories.count) categories, \(read.problems.count) problems; wrote \(to) to \(out)")
    }
}
