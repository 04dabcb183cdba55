import FleetProtos
import FleetStore
import Foundation
import VisionData

/// GenerateSynthetic: the shapes detection dataset rendered in the service (both cores),
/// each image stored as a PNG blob, split by the usual hold-out, committed as a version.
struct SyntheticVersion {
    static let maxCount = 100_000

    let request: Visionfleet_V1_GenerateSyntheticRequest
    let blobs: any BlobStore

    func validate() throws {
        try DatasetNames.check(request.dataset, field: "dataset")
        guard (1...Int32(Self.maxCount)).contains(request.count) else {
            throw IngestError.invalidArgument(item: request.dataset, field: "count", message: "must be 1…\(Self.maxCount), got \(request.count)")
        }
        guard request.imageSize == 0 || (16...1024).contains(request.imageSize) else {
            throw IngestError.invalidArgument(item: request.dataset, field: "image_size", message: "must be 16…1024, got \(request.imageSize)")
        }
        guard (0..<1).contains(request.options.valFraction) else {
            throw IngestError.invalidArgument(item: request.dataset, field: "options.val_fraction", message: "must be in [0, 1)")
        }
    }

    func build() throws -> VersionBuilder.Built {
        try validate()
        let generator = ShapesGenerator(size: request.imageSize == 0 ? 128 : Int(request.imageSize))
        let count = Int(request.count)
        var pinned: [BlobDigest] = []
        var items: [Visionfleet_V1_DatasetItem] = []
        var deduplicated = 0, bytes: Int64 = 0
        do {
            let batch = 1024
            for start in stride(from: 0, to: count, by: batch) {
                let indices = start..<min(start + batch, count)
                let rendered = try Self.render(generator, seed: request.seed, indices: indices)
                var writers: [any BlobWriter] = []
                defer { for w in writers { w.abort() } }
                for sample in rendered {
                    let writer = try blobs.makeWriter()
                    writers.append(writer)
                    try writer.write(sample.png)
                    _ = try writer.finishUnsynced()
                }
                let committed = try blobs.commitAll(writers)
                writers = []
                for (sample, blob) in zip(rendered, committed) {
                    pinned.append(blob.digest)
                    if blob.deduplicated { deduplicated += 1 }
                    bytes += blob.size
                    items.append(.with { item in
                        item.imageID = String(sample.index + 1)
                        item.fileName = String(format: "shapes/%06d.png", sample.index + 1)
                        item.blobDigest = blob.digest.description
                        item.width = Int32(generator.size)
                        item.height = Int32(generator.size)
                        item.classID = -1
                        item.annotations = VersionBuilder.annotations(sample.boxes, imageID: item.imageID)
                    })
                }
            }
        } catch {
            blobs.unpin(pinned)
            if let store = error as? StoreError { throw IngestError.from(store) }
            throw error
        }
        let fraction = request.options.valFraction == 0 ? 0.1 : request.options.valFraction
        let splits = SplitAssigner.assign(digests: items.map(\.blobDigest), formatSplits: items.map { _ in nil },
                                          classes: items.map { _ in nil }, fraction: fraction, seed: request.options.splitSeed)
        for i in items.indices { items[i].split = splits[i] }
        let categories = ShapesGenerator.classNames.enumerated().map { DatasetCategory(id: $0.offset, name: $0.element) }
        var version = VersionStatistics.make(items: items, categories: categories, task: .detection)
        version.dataset = request.dataset
        version.sourceFormat = "synthetic-shapes(seed \(request.seed), \(generator.size)px)"
        version.valFraction = fraction
        version.splitSeed = request.options.splitSeed
        version.totalBytes = bytes
        return VersionBuilder.Built(version: version, items: try PreparedItems(items), problems: [], deduplicated: deduplicated, pinned: pinned)
    }

    struct Rendered: Sendable { var index: Int; var png: Data; var boxes: [LabeledBox] }

    /// Renders and encodes `indices` on every core.
    static func render(_ generator: ShapesGenerator, seed: UInt64, indices: Range<Int>) throws -> [Rendered] {
        let results = ConcurrentSlots<Result<Rendered, any Error>>(count: indices.count)
        DispatchQueue.concurrentPerform(iterations: indices.count) { k in
            let index = indices.lowerBound + k
            let (image, boxes) = generator.sample(seed: seed, index: index)
            results.set(k, Result { Rendered(index: index, png: try ImageCodec.encodePNG(image, name: "shapes/\(index + 1).png"), boxes: boxes) })
        }
        return try results.values.map { try $0!.get() }
    }
}

