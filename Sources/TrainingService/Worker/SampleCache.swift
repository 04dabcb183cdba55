import FleetProtos
import FleetStore
import Foundation
import SwiftProtobuf
import VisionData

/// A dataset version's images and items on the job service's disk, fetched once over
/// StreamSamples and reused by every job on that version: `<root>/<name>@<version>/` holds
/// `images/<blob hex>.<ext>`, `items.pb` (the items, no bytes) and `complete`, which names the
/// version's manifest digest and is written last.
public struct SampleCache: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    public struct Loaded: Sendable {
        public var dataset: LabeledDataset
        public var train: [DatasetImage]
        public var validation: [DatasetImage]
    }

    /// The version as a dataset over cached files (fetching it when absent or stale).
    public func load(_ ref: Visionfleet_V1_DatasetRef, digest: String, source: DatasetSource) async throws -> Loaded {
        let version = try await source.version(ref)
        guard digest.isEmpty || version.manifestDigest == digest else {
            throw TrainingError.failedPrecondition("dataset \(ref.name)@\(ref.version) now has digest \(version.manifestDigest), the job was submitted against \(digest)")
        }
        let folder = root.appendingPathComponent("\(version.dataset)@\(version.version)")
        let marker = folder.appendingPathComponent("complete")
        var items: [Visionfleet_V1_DatasetItem] = []
        if (try? String(contentsOf: marker, encoding: .utf8)) == version.manifestDigest,
           let data = try? Data(contentsOf: folder.appendingPathComponent("items.pb")),
           let stored = try? Visionfleet_V1_SampleBatch(serializedBytes: data) {
            items = stored.samples.map(\.item)
        } else {
            try? FileManager.default.removeItem(at: folder)
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("images"), withIntermediateDirectories: true)
            let exact = Visionfleet_V1_DatasetRef.with { $0.name = version.dataset; $0.version = version.version }
            try await source.samples(exact, .unspecified) { batch in
                for sample in batch.samples {
                    let actual = SHA256Stream.digest(of: sample.image).description
                    guard actual == sample.item.blobDigest else {
                        throw TrainingError.failedPrecondition("sample \(sample.item.fileName) hashes to \(actual), not \(sample.item.blobDigest)")
                    }
                    try sample.image.write(to: folder.appendingPathComponent(Self.file(of: sample.item)))
                    items.append(sample.item)
                }
            }
            let list = Visionfleet_V1_SampleBatch.with { $0.samples = items.map { item in .with { $0.item = item } } }
            try list.serializedData().write(to: folder.appendingPathComponent("items.pb"), options: .atomic)
            try Data(version.manifestDigest.utf8).write(to: marker, options: .atomic)
        }
        let categories = version.categories.map { DatasetCategory(id: Int($0.id), name: $0.name) }
        var train: [DatasetImage] = [], validation: [DatasetImage] = []
        for (i, item) in items.enumerated() {
            let image = DatasetImage(
                id: i + 1, file: Self.file(of: item), width: Int(item.width), height: Int(item.height), digest: item.blobDigest,
                label: item.classID >= 0 ? Int(item.classID) : nil,
                boxes: item.annotations.map {
                    LabeledBox(xmin: Double($0.box.xMin), ymin: Double($0.box.yMin), xmax: Double($0.box.xMax), ymax: Double($0.box.yMax),
                               category: Int($0.categoryID))
                })
            if item.split == .train { train.append(image) } else { validation.append(image) }
        }
        return Loaded(dataset: LabeledDataset(root: folder, categories: categories, images: train + validation), train: train, validation: validation)
    }

    /// `images/<blob hex>.<extension of the file name>`.
    static func file(of item: Visionfleet_V1_DatasetItem) -> String {
        let hex = item.blobDigest.hasPrefix("sha256:") ? String(item.blobDigest.dropFirst(7)) : item.blobDigest
        let ext = (item.fileName as NSString).pathExtension.lowercased()
        return "images/\(hex).\(ext.isEmpty ? "png" : ext)"
    }
}
