import FleetProtos
import FleetStore
import Foundation

/// One ImportDataset stream. The lifecycle, written down here and nowhere else:
///
///     awaitingHeader ──header──▶ receiving ──stream ends, every file whole──▶ validating
///     validating ──version committed (or the identical latest returned)──▶ committed
///     any state ──a bad stream, a rejected item in strict mode, a cancel──▶ rejected
///
/// Images stream straight into blob writers (hashed as they arrive) and, committed in batches
/// with one flush each, appear in a private staging folder as hard links, beside the
/// annotation files written there, so the format's reader sees the upload's tree (paths
/// checked, never outside it). `discard` removes the folder and the pins; blobs of a rejected
/// import are unreferenced garbage, invisible to every reader.
final class ImportSession {
    enum State: Equatable { case awaitingHeader, receiving, validating, committed, rejected }

    static let defaultMaxImageBytes: Int64 = 32 << 20

    private(set) var state = State.awaitingHeader
    let staging: URL
    private let blobs: any BlobStore
    private let maxBytes: Int64
    /// Image files in the store: staging-relative path → blob.
    private(set) var imageBlobs: [String: CommittedBlob] = [:]
    private var finishedImages: [(path: String, writer: any BlobWriter)] = []
    private var pinned: [BlobDigest] = []
    static let batchSize = 4096
    /// Whole small images (one chunk each) held until a batch is stored with `storeAll`.
    private var smallImages: [(path: String, data: Data, digest: String)] = []
    private var smallBytes = 0
    /// The batch being stored in the background: each image's path and announced digest.
    private var storing: (batch: [(path: String, digest: String)], job: StoreJob)?
    static let smallBatchBytes = 32 << 20
    static let smallImageLimit = 1 << 20
    /// Staging folders already created.
    private var folders: Set<String> = []
    private(set) var header = Visionfleet_V1_ImportHeader()
    /// The file being received: an image into a blob writer, anything else into a staging file.
    private var current: (path: String, handle: FileHandle?, writer: (any BlobWriter)?, hasher: SHA256Stream?, size: Int64)?
    /// path → (size, digest) of every complete file.
    private(set) var files: [String: (size: Int64, digest: String)] = [:]
    /// Files over `max_image_bytes`: received but not kept.
    private(set) var oversized: [String: Int64] = [:]
    private(set) var bytesReceived: Int64 = 0

    init(stagingRoot: URL, blobs: any BlobStore, maxBytes: Int64) {
        staging = stagingRoot.appendingPathComponent("import-\(UUID().uuidString)", isDirectory: true)
        self.blobs = blobs
        self.maxBytes = maxBytes
    }

    deinit { if state != .committed { discard() } }

    var maxImageBytes: Int64 { header.options.maxImageBytes > 0 ? header.options.maxImageBytes : Self.defaultMaxImageBytes }

    private func bad(_ item: String, _ field: String, _ message: String) -> IngestError {
        .invalidArgument(item: item, field: field, message: message)
    }

    func receive(_ message: Visionfleet_V1_ImportDatasetRequest) throws {
        switch (state, message.part) {
        case (.awaitingHeader, .header(let h)?): try start(h)
        case (.awaitingHeader, _): throw bad("", "header", "the first message of an import must be its header")
        case (.receiving, .chunk(let chunk)?): try take(chunk)
        case (.receiving, .chunks(let batch)?): for chunk in batch.chunks { try take(chunk) }
        case (.receiving, .header?): throw bad(header.dataset, "header", "a second header in one import")
        default: throw bad(header.dataset, "part", "a message with neither header nor chunk")
        }
    }

    private func start(_ h: Visionfleet_V1_ImportHeader) throws {
        try DatasetNames.check(h.dataset, field: "header.dataset")
        guard ImportFormat.reader(h.format) != nil else {
            throw bad(h.dataset, "header.format", "unsupported format \(h.format)")
        }
        guard (0..<1).contains(h.options.valFraction) else {
            throw bad(h.dataset, "header.options.val_fraction", "must be in [0, 1), got \(h.options.valFraction)")
        }
        guard h.options.maxImageBytes >= 0 else { throw bad(h.dataset, "header.options.max_image_bytes", "must not be negative") }
        if !h.annotationPath.isEmpty { try DatasetNames.checkPath(h.annotationPath, field: "header.annotation_path") }
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        } catch {
            throw IngestError.storage("\(staging.path): \(error.localizedDescription)")
        }
        header = h
        state = .receiving
    }

    private func take(_ chunk: Visionfleet_V1_FileChunk) throws {
        bytesReceived += Int64(chunk.data.count)
        if bytesReceived > maxBytes || chunk.totalSize > maxBytes {
            throw IngestError.resourceExhausted("import of \(header.dataset) is over vf-ingest's limit of \(maxBytes >> 20) MiB")
        }
        if current == nil {
            let path = chunk.path
            guard !path.isEmpty else { throw bad("", "chunk.path", "the first chunk of a file must name its path") }
            try DatasetNames.checkPath(path, field: "chunk.path")
            guard files[path] == nil, oversized[path] == nil else { throw bad(path, "chunk.path", "the file was sent twice") }
            guard chunk.offset == 0 else { throw bad(path, "chunk.offset", "the first chunk starts at offset \(chunk.offset), not 0") }
            let isAnnotation = ImportFormat.isAnnotationFile(path, header: header)
            if chunk.last, !isAnnotation, chunk.data.count <= Self.smallImageLimit, Int64(chunk.data.count) <= maxImageBytes {
                // A whole small image in one chunk: kept in memory and stored with its batch.
                files[path] = (Int64(chunk.data.count), "")
                smallImages.append((path, chunk.data, chunk.digest))
                smallBytes += chunk.data.count
                if smallImages.count >= Self.batchSize || smallBytes >= Self.smallBatchBytes { try storeSmallImages() }
                return
            }
            let url = staging.appendingPathComponent(path)
            do {
                try makeFolder(for: path)
                if isAnnotation {
                    guard FileManager.default.createFile(atPath: url.path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
                    current = (path, try FileHandle(forWritingTo: url), nil, SHA256Stream(), 0)
                } else {
                    current = (path, nil, try blobs.makeWriter(), nil, 0)
                }
            } catch let error as StoreError {
                throw IngestError.from(error)
            } catch {
                throw IngestError.storage("\(url.path): cannot create the staging file: \(error.localizedDescription)")
            }
        }
        guard var file = current else { return }
        if !chunk.path.isEmpty, chunk.path != file.path {
            throw bad(chunk.path, "chunk.path", "a chunk of this file came before the last chunk of '\(file.path)'")
        }
        guard chunk.offset == file.size else {
            throw bad(file.path, "chunk.offset", "expected offset \(file.size), got \(chunk.offset) (a chunk is missing or repeated)")
        }
        file.size += Int64(chunk.data.count)
        if file.size > maxImageBytes, let writer = file.writer {
            // Over the per-image limit: the bytes are dropped; the item is reported at validation.
            writer.abort()
            file.writer = nil
        }
        do {
            if let handle = file.handle {
                try handle.write(contentsOf: chunk.data)
                file.hasher?.update(chunk.data)
            } else if let writer = file.writer {
                try writer.write(chunk.data)
            }
        } catch let error as StoreError {
            throw IngestError.from(error)
        } catch {
            throw IngestError.storage("\(file.path): cannot write the staging file: \(error.localizedDescription)")
        }
        current = file
        guard chunk.last else { return }
        current = nil
        let digest: String
        if let handle = file.handle, let hasher = file.hasher {
            try? handle.close()
            digest = hasher.finish().description
            files[file.path] = (file.size, digest)
        } else if let writer = file.writer {
            do { digest = try writer.finishUnsynced().description } catch let error as StoreError { throw IngestError.from(error) }
            files[file.path] = (file.size, digest)
            finishedImages.append((file.path, writer))
            if finishedImages.count >= Self.batchSize { try commitImages() }
        } else {
            oversized[file.path] = file.size
            return
        }
        if !chunk.digest.isEmpty, chunk.digest != digest {
            throw bad(file.path, "chunk.digest", "the bytes received hash to \(digest), the chunk says \(chunk.digest)")
        }
    }

    /// Creates the staging folder a file goes in (once per folder).
    private func makeFolder(for path: String) throws {
        guard let slash = path.lastIndex(of: "/") else { return }
        let folder = String(path[..<slash])
        guard !folders.contains(folder) else { return }
        try FileManager.default.createDirectory(atPath: staging.path + "/" + folder, withIntermediateDirectories: true)
        folders.insert(folder)
    }

    /// Hands the batch of small images to a background store (one flush, then each linked
    /// into the staging folder) while the stream goes on; one batch in flight at a time.
    private func storeSmallImages() throws {
        try joinSmallImages()
        guard !smallImages.isEmpty else { return }
        let batch = smallImages
        for image in batch { try makeFolder(for: image.path) }
        let job = StoreJob()
        let blobs = blobs
        let stagingPath = staging.path
        job.group.enter()
        DispatchQueue.global(qos: .userInitiated).async {
            defer { job.group.leave() }
            do {
                job.committed = try blobs.storeAll(batch.map(\.data))
                for (image, blob) in zip(batch, job.committed) {
                    try blobs.materialize(blob.digest, atPath: stagingPath + "/" + image.path)
                }
            } catch {
                job.error = error
            }
        }
        storing = (batch.map { ($0.path, $0.digest) }, job)
        smallImages.removeAll(keepingCapacity: true)
        smallBytes = 0
    }

    /// Waits for the batch in flight and records its blobs.
    private func joinSmallImages() throws {
        guard let (batch, job) = storing else { return }
        storing = nil
        job.group.wait()
        pinned += job.committed.map(\.digest)
        if let error = job.error {
            if let store = error as? StoreError { throw IngestError.from(store) }
            throw IngestError.storage("storing images: \(error)")
        }
        for (image, blob) in zip(batch, job.committed) {
            let digest = blob.digest.description
            files[image.path] = (blob.size, digest)
            if !image.digest.isEmpty, image.digest != digest {
                throw bad(image.path, "chunk.digest", "the bytes received hash to \(digest), the chunk says \(image.digest)")
            }
            imageBlobs[image.path] = blob
        }
    }

    /// Commits the finished images (one flush) and links each into the staging folder.
    private func commitImages() throws {
        guard !finishedImages.isEmpty else { return }
        do {
            let committed = try blobs.commitAll(finishedImages.map(\.writer))
            pinned += committed.map(\.digest)
            for ((path, _), blob) in zip(finishedImages, committed) {
                imageBlobs[path] = blob
                try blobs.materialize(blob.digest, atPath: staging.path + "/" + path)
            }
        } catch let error as StoreError {
            throw IngestError.from(error)
        }
        finishedImages.removeAll(keepingCapacity: true)
    }

    /// The stream ended: every file must be whole.
    func finishReceiving(cancelled: Bool) throws {
        if cancelled { throw IngestError.cancelled("the import of \(header.dataset) was cancelled by the client") }
        guard state == .receiving else { throw bad("", "header", "the stream ended before the import's header") }
        if let current {
            throw bad(current.path, "chunk.last", "the stream ended before the last chunk of this file (\(current.size) bytes received)")
        }
        guard !files.isEmpty || !oversized.isEmpty else { throw bad(header.dataset, "chunk", "the import sent no files") }
        if !header.annotationPath.isEmpty, files[header.annotationPath] == nil {
            throw bad(header.annotationPath, "header.annotation_path", "the annotation file was not uploaded")
        }
        try commitImages()
        try storeSmallImages()
        try joinSmallImages()
        state = .validating
    }

    func markCommitted() {
        state = .committed
        discard(keepState: true)
    }

    /// Removes the staging folder.
    func discard(keepState: Bool = false) {
        try? current?.handle?.close()
        current?.writer?.abort()
        current = nil
        for (_, writer) in finishedImages { writer.abort() }
        finishedImages = []
        smallImages = []
        if let (_, job) = storing {
            job.group.wait()
            blobs.unpin(job.committed.map(\.digest))
            storing = nil
        }
        blobs.unpin(pinned)
        pinned = []
        try? FileManager.default.removeItem(at: staging)
        if !keepState { state = .rejected }
    }
}

/// A batch of small images being stored off the stream's thread.
private final class StoreJob: @unchecked Sendable {
    let group = DispatchGroup()
    var committed: [CommittedBlob] = []
    var error: (any Error)?
}
