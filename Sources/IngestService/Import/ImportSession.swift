import FleetProtos
import FleetStore
import Foundation

/// One ImportDataset stream. The lifecycle, written down here and nowhere else:
///
///     awaitingHeader ──header──▶ receiving ──stream ends, every file whole──▶ validating
///     validating ──version committed (or the identical latest returned)──▶ committed
///     any state ──a bad stream, a rejected item in strict mode, a cancel──▶ rejected
///
/// Uploaded files go to a private staging folder (paths checked, never outside it), hashed as
/// they arrive; `discard` removes the folder, so a rejected import leaves nothing behind.
final class ImportSession {
    enum State: Equatable { case awaitingHeader, receiving, validating, committed, rejected }

    static let defaultMaxImageBytes: Int64 = 32 << 20

    private(set) var state = State.awaitingHeader
    let staging: URL
    private let maxBytes: Int64
    private(set) var header = Visionfleet_V1_ImportHeader()
    private var current: (path: String, handle: FileHandle?, hasher: SHA256Stream, size: Int64)?
    /// path → (size, digest) of every complete file.
    private(set) var files: [String: (size: Int64, digest: String)] = [:]
    /// Files over `max_image_bytes`: received but not kept.
    private(set) var oversized: [String: Int64] = [:]
    private(set) var bytesReceived: Int64 = 0

    init(stagingRoot: URL, maxBytes: Int64) {
        staging = stagingRoot.appendingPathComponent("import-\(UUID().uuidString)", isDirectory: true)
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
            let url = staging.appendingPathComponent(path)
            do {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                guard FileManager.default.createFile(atPath: url.path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
                current = (path, try FileHandle(forWritingTo: url), SHA256Stream(), 0)
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
        if file.size > maxImageBytes, !ImportFormat.isAnnotationFile(file.path, header: header), let handle = file.handle {
            // Over the per-image limit: the bytes are dropped; the item is reported at validation.
            try? handle.close()
            try? FileManager.default.removeItem(at: staging.appendingPathComponent(file.path))
            file.handle = nil
        }
        if let handle = file.handle {
            do { try handle.write(contentsOf: chunk.data) } catch {
                throw IngestError.storage("\(file.path): cannot write the staging file: \(error.localizedDescription)")
            }
            file.hasher.update(chunk.data)
        }
        current = file
        guard chunk.last else { return }
        current = nil
        guard let handle = file.handle else {
            oversized[file.path] = file.size
            return
        }
        try? handle.close()
        let digest = file.hasher.finish().description
        if !chunk.digest.isEmpty, chunk.digest != digest {
            throw bad(file.path, "chunk.digest", "the bytes received hash to \(digest), the chunk says \(chunk.digest)")
        }
        files[file.path] = (file.size, digest)
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
        state = .validating
    }

    func markCommitted() {
        state = .committed
        discard(keepState: true)
    }

    /// Removes the staging folder.
    func discard(keepState: Bool = false) {
        try? current?.handle?.close()
        current = nil
        try? FileManager.default.removeItem(at: staging)
        if !keepState { state = .rejected }
    }
}
