import FleetProtos
import FleetStore
import Foundation
import VisionData

/// Turns a staged upload into a dataset version: reads it with the format's reader (every
/// image decoded), lists every problem, stores the good images as blobs and builds the items,
/// their split, the statistics and the version's identity digest.
struct VersionBuilder {
    let session: ImportSession
    let task: Visionfleet_V1_TaskType
    let blobs: any BlobStore

    struct Built {
        var version: Visionfleet_V1_DatasetVersion
        /// In the version's order, the catalog's pages made.
        var items: PreparedItems
        var problems: [Visionfleet_V1_ItemError]
        var deduplicated: Int
        /// Blobs committed and pinned until the version's metadata commits.
        var pinned: [BlobDigest]
    }

    /// An image's boxes on the wire, with ids `<image id>-<k>`.
    static func annotations(_ boxes: [LabeledBox], imageID: String) -> [Visionfleet_V1_Annotation] {
        boxes.enumerated().map { k, box in
            .with {
                $0.id = "\(imageID)-\(k)"
                $0.categoryID = Int32(box.category)
                $0.box = .with { $0.xMin = Float(box.xmin); $0.yMin = Float(box.ymin); $0.xMax = Float(box.xmax); $0.yMax = Float(box.ymax) }
                $0.area = Float(box.width * box.height)
            }
        }
    }

    static func problem(_ item: String, _ field: String, _ message: String) -> Visionfleet_V1_ItemError {
        .with { $0.item = item; $0.field = field; $0.message = message }
    }

    /// Reads and checks; throws `rejected` in strict mode when any item is bad.
    func read() throws -> (dataset: LabeledDataset, kept: [DatasetImage], problems: [Visionfleet_V1_ItemError]) {
        let header = session.header
        let format = ImportFormat.reader(header.format)!
        let url = ImportFormat.readURL(staging: session.staging, header: header)
        let result: DatasetReadResult
        do {
            // Every uploaded image decoded on all cores before the reader runs (small ones while
            // the stream went on, large ones here); the reader takes sizes and failures from
            // there (the blobs are already hashed) and sees the upload through `fileView`.
            // The lookup and the file view are built side by side (each a pass over every image).
            let (small, large, staging) = (session.smallDecoded, session.largeImages, session.staging)
            let (lookup, view) = ForkJoin.both({
                var decoded = Self.decodeAll(large, in: staging)
                decoded.reserveCapacity(decoded.count + small.count)
                for (path, image) in small { decoded[path] = image }
                return decoded
            }, { ImportSession.fileView(root: staging, small: small) })
            result = try format.read(url, options: DatasetReadOptions(verifyPixels: true, computeDigests: false, confinedTo: session.staging,
                                                                      decoded: DecodedImages(root: staging, byPath: lookup), files: view))
        } catch {
            throw IngestError.invalidArgument(item: header.annotationPath.isEmpty ? "upload" : header.annotationPath, field: "annotations",
                                              message: "\(error)")
        }
        let prefix = session.staging.path + "/"
        func relative(_ text: String) -> String { text.replacingOccurrences(of: prefix, with: "") }
        var problems: [Visionfleet_V1_ItemError] = []
        for (path, size) in session.oversized.sorted(by: { $0.key < $1.key }) {
            problems.append(Self.problem(path, "size", "\(size) bytes, over max_image_bytes \(session.maxImageBytes)"))
        }
        for p in result.problems where session.oversized[relative(p.item)] == nil {
            problems.append(Self.problem(relative(p.item), p.field, p.reason))
        }
        let images = result.dataset.images
        // Usually every image is kept: then the reader's array is shared, not copied image by image.
        let keepsAll = session.oversized.isEmpty && (task != .classification || !images.contains { $0.label == nil })
        var kept: [DatasetImage] = keepsAll ? images : []
        for image in images where !keepsAll {
            if session.oversized[image.file] != nil { continue }
            if task == .classification, image.label == nil {
                problems.append(Self.problem(image.file, "label", "no class label (the dataset's task is classification)"))
                continue
            }
            kept.append(image)
        }
        if task == .detection, !ImportFormat.hasBoxes(header.format) {
            throw IngestError.invalidArgument(item: header.dataset, field: "header.format",
                                              message: "\(format.rawValue) carries class labels only; a detection dataset needs boxes")
        }
        if !problems.isEmpty, !header.options.allowPartial {
            throw IngestError.rejected(problems: problems, bytesReceived: session.bytesReceived)
        }
        guard !kept.isEmpty else {
            throw IngestError.invalidArgument(item: header.dataset, field: "items",
                                              message: problems.isEmpty ? "the upload holds no images" : "every item has a problem (\(problems.count))")
        }
        return (result.dataset, kept, problems)
    }

    /// Decodes every staged image fully, on all cores: staging-relative path → size or failure.
    static func decodeAll(_ paths: [String], in staging: URL) -> [String: DecodedImage] {
        let base = staging.path + "/"
        let decoded = ParallelMap.indices(paths.count, serialBelow: 2) { DecodedImage.decode(path: base + paths[$0], name: paths[$0]) }
        var out: [String: DecodedImage] = [:]
        out.reserveCapacity(paths.count)
        for (path, value) in zip(paths, decoded) { out[path] = value }
        return out
    }

    func build(lap: (String) -> Void = { _ in }) throws -> Built {
        let (dataset, kept, problems) = try read()
        lap("read")
        let header = session.header
        var pinned: [BlobDigest] = []
        var deduplicated = 0
        var digests: [BlobDigest] = []
        digests.reserveCapacity(kept.count)
        var bytes: Int64 = 0
        var pendingWriters: [any BlobWriter] = []
        do {
            // Batches of writers committed with one flush each (an fsync per small image would
            // bound an import by the disk's flush rate).
            var batch: [any BlobWriter] = []
            defer { pendingWriters = batch }
            func flush() throws {
                guard !batch.isEmpty else { return }
                for committed in try blobs.commitAll(batch) {
                    pinned.append(committed.digest)
                    if committed.deduplicated { deduplicated += 1 }
                    digests.append(committed.digest)
                    bytes += committed.size
                }
                batch.removeAll(keepingCapacity: true)
            }
            let prefix = session.staging.standardizedFileURL.path + "/"
            let rootPath = dataset.root.standardizedFileURL.path + "/"
            let rootKey = rootPath.hasPrefix(prefix) ? String(rootPath.dropFirst(prefix.count)) : nil
            // An image the upload already stored: its blob, no second write (looked up on every core).
            let stored = session.imageBlobs
            let found = ParallelMap.indices(kept.count) { i -> CommittedBlob? in
                let image = kept[i]
                guard image.embedded == nil else { return nil }
                let plain = !image.file.hasPrefix("/") && !DatasetImage.hasDotOrEmptySegments(image.file)
                let key = if let rootKey, plain { rootKey + image.file } else {
                    dataset.url(of: image).standardizedFileURL.path.replacingOccurrences(of: prefix, with: "")
                }
                return stored[key]
            }
            for (image, blob) in zip(kept, found) {
                if let blob {
                    try flush()
                    if blob.deduplicated { deduplicated += 1 }
                    digests.append(blob.digest)
                    bytes += blob.size
                    continue
                }
                let writer = try blobs.makeWriter()
                batch.append(writer)
                if let pixels = image.embedded {
                    try writer.write(try ImageCodec.encodePNG(pixels, name: image.file))
                } else {
                    let handle = try FileHandle(forReadingFrom: dataset.url(of: image))
                    defer { try? handle.close() }
                    while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty { try writer.write(data) }
                }
                _ = try writer.finishUnsynced()
                if batch.count == 4096 { try flush() }
            }
            try flush()
        } catch {
            for writer in pendingWriters { writer.abort() }
            blobs.unpin(pinned)
            if let store = error as? StoreError { throw IngestError.from(store) }
            throw IngestError.storage("storing images: \(error)")
        }
        lap("store")
        let blobDigests = digests
        let texts = ParallelMap.indices(blobDigests.count) { blobDigests[$0].description }
        let splits = SplitAssigner.assign(digests: texts, formatSplits: kept.map(\.split), classes: kept.map(\.label),
                                          fraction: header.options.valFraction == 0 ? 0.1 : header.options.valFraction,
                                          seed: header.options.splitSeed)
        // Built on every core (a message per item), then put in order.
        let built = ParallelMap.indices(kept.count) { i -> Visionfleet_V1_DatasetItem in
            let image = kept[i]
            return .with { item in
                item.imageID = String(image.id)
                item.fileName = image.file
                item.blobDigest = texts[i]
                item.width = Int32(image.width)
                item.height = Int32(image.height)
                item.split = splits[i]
                item.classID = Int32(image.label ?? -1)
                item.annotations = Self.annotations(image.boxes, imageID: String(image.id))
            }
        }
        // The counts and the identity digest do not depend on the items' order: made beside
        // the sort and the catalog's pages (each pass has serial parts that leave a core idle).
        let categories = dataset.categories, task = self.task
        let (prepared, made) = try ForkJoin.both({ () throws -> PreparedItems in
            // File names in natural order (img2 before img10, IDX's stem#9 before stem#10), so a
            // version's order is the order its files are numbered in whatever order they arrived.
            let order = NaturalOrder.sortedIndices(built.map(\.fileName)) { built[$0].blobDigest < built[$1].blobDigest }
            let items = order.map { built[$0] }
            lap("items")
            return try PreparedItems(items)
        }, { VersionStatistics.make(items: built, categories: categories, task: task, blobDigests: blobDigests) })
        var version = made
        version.dataset = header.dataset
        version.sourceFormat = ImportFormat.reader(header.format)!.rawValue
        version.valFraction = header.options.valFraction == 0 ? 0.1 : header.options.valFraction
        version.splitSeed = header.options.splitSeed
        version.warnings = problems
        version.totalBytes = bytes
        lap("statistics and pages")
        return Built(version: version, items: prepared, problems: problems, deduplicated: deduplicated, pinned: pinned)
    }
}

