import FleetProtos
import FleetStore
import Foundation
import VisionData

/// One ImportDataset stream. The lifecycle, written down here and nowhere else:
///
///     awaitingHeader ──header──▶ receiving ──stream ends, every file whole──▶ validating
///     validating ──blobs durable, version committed (or the identical latest returned)──▶ committed
///     any state ──a bad stream, a rejected item in strict mode, a cancel──▶ rejected
///
/// Small images (one chunk each, most of any dataset) are gathered into batches that are
/// hashed, fully decoded and stored on every core while the stream goes on; the format's
/// reader later sees them through `fileView` under their uploaded paths, beside the annotation
/// files written to a private staging folder (paths checked, never outside it). Large images
/// stream into blob writers and, committed in batches with one flush each, appear in the
/// staging folder as files. `discard` removes the folder and the pins; blobs of a rejected
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
    /// Small images decoded while the stream went on, in the order they arrived (a folder's
    /// images together): staging-relative path and size or failure.
    private(set) var smallDecoded: [(path: String, image: DecodedImage)] = []
    /// Large images, streamed into writers and linked into the staging folder (decoded there
    /// once the stream ends).
    private(set) var largeImages: [String] = []
    private var finishedImages: [(path: String, writer: any BlobWriter)] = []
    private var pinned: [BlobDigest] = []
    /// The flush of the stream's unsynced small blobs, started when the stream ends.
    private var flushing: BackgroundFlush?
    static let batchSize = 4096
    /// Whole small images (one chunk each) held until a batch is checked and stored.
    private var smallImages: [SmallImage] = []
    private var smallBytes = 0
    /// Batches being checked and stored in the background, oldest first; they run one after
    /// another (`SmallImageJob`), so the cores never wait for the stream to fill the next one.
    private var storing: [(batch: [SmallImage], job: SmallImageJob)] = []
    private let checking = DispatchQueue(label: "visionfleet.ingest.import.check")
    private let storingQueue = DispatchQueue(label: "visionfleet.ingest.import.store")
    static let batchesInFlight = 3
    /// Small images per batch. Each batch is one transaction of the small-blob table, which
    /// rewrites every digest-index page its random keys land on: few large batches write far
    /// less (a 70,000-image import: 163 MiB at 2,048, 142 at 4,096), and what is left when the
    /// stream ends is still decoded on every core.
    static let smallBatchCount = 4096
    static let smallBatchBytes = 16 << 20
    static let smallImageLimit = 1 << 20
    /// Staging folders already created.
    private var folders: Set<String> = []
    private(set) var header = Visionfleet_V1_ImportHeader()
    /// The file being received: an image into a blob writer, anything else into a staging file.
    private var current: (path: String, handle: FileHandle?, writer: (any BlobWriter)?, hasher: SHA256Stream?, size: Int64)?
    /// path → (size, digest) of every complete file; "" for a small image's digest (its blob
    /// in `imageBlobs` has it; a small image that does not decode has none).
    private(set) var files: [String: (size: Int64, digest: String)] = [:]
    /// Files over `max_image_bytes`: received but not kept.
    private(set) var oversized: [String: Int64] = [:]
    private(set) var bytesReceived: Int64 = 0
    let started = ContinuousClock.now

    init(stagingRoot: URL, blobs: any BlobStore, maxBytes: Int64) {
        // Absolute and without `.` segments: readers and `fileView` compare paths as text.
        let root = stagingRoot.path.hasPrefix("/") ? stagingRoot : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(stagingRoot.path)
        staging = URL(fileURLWithPath: root.standardizedFileURL.path).appendingPathComponent("import-\(UUID().uuidString)", isDirectory: true)
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

    /// Sizes the session's path tables from the header's `file_count` once `reserveAfter`
    /// files have arrived (grown by doubling, they rehash every path they hold at each step).
    /// A hint only: capped, and honoured only after real files, so a header alone claims no memory.
    private func sizeTablesFromHint() {
        let expected = Int(min(max(header.fileCount, 0), Self.reserveLimit))
        guard expected > files.count else { return }
        files.reserveCapacity(expected)
        imageBlobs.reserveCapacity(expected)
        smallDecoded.reserveCapacity(expected)
    }

    static let reserveAfter = 1024
    static let reserveLimit: Int64 = 1 << 18

    private func take(_ chunk: Visionfleet_V1_FileChunk) throws {
        bytesReceived += Int64(chunk.data.count)
        if bytesReceived > maxBytes || chunk.totalSize > maxBytes {
            throw IngestError.resourceExhausted("import of \(header.dataset) is over vf-ingest's limit of \(maxBytes >> 20) MiB")
        }
        if current == nil {
            let path = chunk.path
            guard !path.isEmpty else { throw bad("", "chunk.path", "the first chunk of a file must name its path") }
            try DatasetNames.checkPath(path, field: "chunk.path")
            guard oversized.isEmpty || oversized[path] == nil else { throw bad(path, "chunk.path", "the file was sent twice") }
            guard chunk.offset == 0 else { throw bad(path, "chunk.offset", "the first chunk starts at offset \(chunk.offset), not 0") }
            let isAnnotation = ImportFormat.isAnnotationFile(path, header: header)
            if chunk.last, !isAnnotation, chunk.data.count <= Self.smallImageLimit, Int64(chunk.data.count) <= maxImageBytes {
                // A whole small image in one chunk: kept in memory and stored with its batch.
                guard files.updateValue((Int64(chunk.data.count), ""), forKey: path) == nil else {
                    throw bad(path, "chunk.path", "the file was sent twice")
                }
                if files.count == Self.reserveAfter { sizeTablesFromHint() }
                smallImages.append(SmallImage(path: path, data: chunk.data, announcedDigest: chunk.digest))
                smallBytes += chunk.data.count
                if smallImages.count >= Self.smallBatchCount || smallBytes >= Self.smallBatchBytes { try storeSmallImages() }
                return
            }
            guard files[path] == nil else { throw bad(path, "chunk.path", "the file was sent twice") }
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

    /// Hands the batch of small images to the background (hashed and decoded on every core,
    /// the ones that decode stored) while the stream goes on; the stream waits only when
    /// `batchesInFlight` batches are pending.
    private func storeSmallImages() throws {
        while storing.count >= Self.batchesInFlight { try joinOldestBatch() }
        guard !smallImages.isEmpty else { return }
        let batch = smallImages
        let job = SmallImageJob(batch, blobs: blobs, checking: checking, storing: storingQueue)
        storing.append((batch, job))
        smallImages.removeAll(keepingCapacity: true)
        smallBytes = 0
    }

    /// Waits for every batch in flight.
    private func joinSmallImages() throws {
        while !storing.isEmpty { try joinOldestBatch() }
    }

    /// Waits for the oldest batch in flight and records its digests, decodings and blobs.
    private func joinOldestBatch() throws {
        let (batch, job) = storing.removeFirst()
        let result = job.wait()
        pinned += result.committed.compactMap { $0?.digest }
        if let error = result.error {
            if let store = error as? StoreError { throw IngestError.from(store) }
            throw IngestError.storage("storing images: \(error)")
        }
        for (i, image) in batch.enumerated() {
            // `files` keeps the entry `take` made (its digest is the blob's, in `imageBlobs`).
            smallDecoded.append((image.path, result.decoded[i]))
            if let blob = result.committed[i] { imageBlobs[image.path] = blob }
            if !image.announcedDigest.isEmpty, case let digest = result.digests[i].description, image.announcedDigest != digest {
                throw bad(image.path, "chunk.digest", "the bytes received hash to \(digest), the chunk says \(image.announcedDigest)")
            }
        }
    }

    /// What the format's reader sees: the staging folder plus the small images in the store.
    static func fileView(root staging: URL, small: [(path: String, image: DecodedImage)]) -> UploadFileView {
        UploadFileView(root: staging.path, images: small.lazy.map(\.path))
    }

    /// Commits the finished images (one flush) and links each into the staging folder.
    private func commitImages() throws {
        guard !finishedImages.isEmpty else { return }
        do {
            let committed = try blobs.commitAll(finishedImages.map(\.writer))
            pinned += committed.map(\.digest)
            for ((path, _), blob) in zip(finishedImages, committed) {
                imageBlobs[path] = blob
                largeImages.append(path)
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
        flushing = BackgroundFlush(blobs)
        state = .validating
    }

    /// Waits until the stream's blobs are on stable storage: before the version naming them commits.
    func awaitDurable() throws {
        try flushing?.wait()
    }

    /// The version committed: the staging folder goes now; the pins and the session's tables
    /// go in `releaseAfterCommit`, which need not delay the reply.
    func markCommitted() {
        state = .committed
        try? flushing?.wait()
        flushing = nil
        try? FileManager.default.removeItem(at: staging)
    }

    /// Unpins the session's blobs (the committed version references them now) and frees its
    /// tables; called once, after `markCommitted`, off the reply's path.
    func releaseAfterCommit() {
        precondition(state == .committed, "released before the version committed")
        blobs.unpin(pinned)
        pinned = []
        files = [:]
        imageBlobs = [:]
        smallDecoded = []
        largeImages = []
        oversized = [:]
    }

    /// Removes the staging folder.
    func discard(keepState: Bool = false) {
        try? flushing?.wait()
        try? current?.handle?.close()
        current?.writer?.abort()
        current = nil
        for (_, writer) in finishedImages { writer.abort() }
        finishedImages = []
        smallImages = []
        for (_, job) in storing { blobs.unpin(job.wait().committed.compactMap { $0?.digest }) }
        storing = []
        blobs.unpin(pinned)
        pinned = []
        try? FileManager.default.removeItem(at: staging)
        if !keepState { state = .rejected }
    }
}
