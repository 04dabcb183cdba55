import FleetProtos
import FleetStore
import Foundation
import VisionData

/// Writes a dataset version in a format's own layout into a private folder (images copied
/// out of the blob store, annotations written by the format's writer) and lists the files
/// for the tar stream. The caller streams them and then calls `discard`.
struct DatasetExporter {
    let ingest: DatasetIngest

    struct Prepared {
        var archiveName: String
        /// Relative path and location of each file, sorted by path.
        var files: [(path: String, url: URL, size: Int64)]
        var folder: URL

        func discard() { try? FileManager.default.removeItem(at: folder) }
    }

    /// Which formats carry which task's labels.
    static func formats(for task: Visionfleet_V1_TaskType) -> [Visionfleet_V1_DatasetFormat] {
        task == .detection ? [.coco, .yolo, .voc, .labelStudio, .cvat] : [.imageFolder, .csv, .labelStudio, .cvat, .idx]
    }

    static func splitName(_ split: Visionfleet_V1_Split) -> String {
        switch split { case .val: "val"; case .test: "test"; default: "train" }
    }

    func prepare(_ request: Visionfleet_V1_ExportDatasetRequest) throws -> Prepared {
        let version = try ingest.catalog.version(request.ref)
        let dataset = try ingest.catalog.dataset(named: version.dataset)
        guard let format = ImportFormat.reader(request.format) else {
            throw IngestError.invalidArgument(item: version.dataset, field: "format", message: "unsupported format \(request.format)")
        }
        guard Self.formats(for: dataset.task).contains(request.format) else {
            let names = Self.formats(for: dataset.task).compactMap { ImportFormat.reader($0)?.rawValue }
            throw IngestError.invalidArgument(item: version.dataset, field: "format",
                                              message: "\(format.rawValue) cannot carry \(dataset.task) labels; export as \(names.joined(separator: ", "))")
        }
        let exact = Visionfleet_V1_DatasetRef.with { $0.name = version.dataset; $0.version = version.version }
        let items = try ingest.catalog.items(exact, split: .unspecified, offset: 0, limit: Int.max).map(\.item)
        let folder = ingest.stagingRoot.appendingPathComponent("export-\(UUID().uuidString)", isDirectory: true)
        let source = folder.appendingPathComponent("source"), output = folder.appendingPathComponent("out")
        do {
            var images: [DatasetImage] = []
            var used = Set<String>()
            for (i, item) in items.enumerated() {
                // The item's own name where it is free, else one made unique by its position.
                var file = item.fileName.isEmpty ? "image-\(i + 1).png" : item.fileName
                if !used.insert(file).inserted { file = "\(i + 1)-" + (file as NSString).lastPathComponent; used.insert(file) }
                let url = source.appendingPathComponent(file)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try ingest.blobs.materialize(try BlobDigest(parsing: item.blobDigest), at: url)
                images.append(DatasetImage(
                    id: i + 1, file: file, width: Int(item.width), height: Int(item.height), digest: item.blobDigest,
                    label: item.classID >= 0 ? Int(item.classID) : nil,
                    boxes: item.annotations.map {
                        LabeledBox(xmin: Double($0.box.xMin), ymin: Double($0.box.yMin), xmax: Double($0.box.xMax), ymax: Double($0.box.yMax),
                                   category: Int($0.categoryID))
                    },
                    split: Self.splitName(item.split)))
            }
            let labeled = LabeledDataset(root: source, categories: version.categories.map { DatasetCategory(id: Int($0.id), name: $0.name) },
                                         images: images)
            do { try format.write(labeled, to: output) } catch {
                throw IngestError.invalidArgument(item: "\(version.dataset)@\(version.version)", field: "format", message: "\(error)")
            }
            var files: [(String, URL, Int64)] = []
            let prefix = output.standardizedFileURL.path + "/"
            let walker = FileManager.default.enumerator(at: output, includingPropertiesForKeys: [.isRegularFileKey, .fileSizeKey])
            while let url = walker?.nextObject() as? URL {
                let values = try url.resourceValues(forKeys: [.isRegularFileKey, .fileSizeKey])
                guard values.isRegularFile == true else { continue }
                if !request.includeImages, ImportFormat.imageExtensions.contains(url.pathExtension.lowercased()) { continue }
                files.append((url.standardizedFileURL.path.replacingOccurrences(of: prefix, with: ""), url, Int64(values.fileSize ?? 0)))
            }
            files.sort { $0.0 < $1.0 }
            return Prepared(archiveName: "\(version.dataset)@\(version.version).\(format.rawValue).tar", files: files, folder: folder)
        } catch {
            try? FileManager.default.removeItem(at: folder)
            if let store = error as? StoreError { throw IngestError.from(store) }
            if error is IngestError { throw error }
            throw IngestError.storage("exporting \(version.dataset)@\(version.version): \(error)")
        }
    }
}
