import ArgumentParser
import Foundation
import VisionData

struct DatasetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset", abstract: "Datasets in vf-ingest (import, ls, show, items, delete) and local tools (synth, convert).",
        subcommands: [DatasetImport.self, DatasetList.self, DatasetShow.self, DatasetItems.self, DatasetDelete.self, Synth.self, Convert.self])
}

/// `vf dataset synth`: the deterministic synthetic shapes detection dataset as COCO (or any
/// format) with PNG images.
struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write the synthetic shapes detection dataset.")

    @Option(help: "Output folder.") var out: String
    @Option(help: "Number of images.") var count = 1000
    @Option(help: "Image side in pixels.") var size = 128
    @Option(help: "Seed: the same seed writes the same dataset.") var seed: UInt64 = 0
    @Option(help: "Format to write: coco, yolo, voc, labelstudio.") var format = "coco"

    func validate() throws {
        guard count > 0 else { throw ValidationError("--count must be positive") }
        guard size >= 16 && size <= 4096 else { throw ValidationError("--size must be 16...4096") }
        guard let f = DatasetFormat(rawValue: format), [.coco, .yolo, .voc, .labelstudio].contains(f) else {
            throw ValidationError("--format \(format): shapes are boxes; write coco, yolo, voc or labelstudio")
        }
    }

    func run() throws {
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
