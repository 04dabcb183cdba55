import FleetProtos
import FleetStore
import Foundation

/// One UploadVersion stream. The lifecycle, written down here and nowhere else:
///
///     awaitingHeader ──header──▶ receiving ──stream ends, every file complete──▶ verifying
///     verifying ──version committed──▶ committed
///     awaitingHeader | receiving | verifying ──any problem or a cancel──▶ discarded
///
/// While receiving, each file's bytes go to a private blob writer and are hashed as they come;
/// a file's last chunk must carry the digest the manifest names, and the bytes must hash to it.
/// Nothing is visible until `ModelRegistry.commit` commits blobs and metadata; `discard`
/// removes every temp file.
final class UploadSession {
    enum State: Equatable { case awaitingHeader, receiving, verifying, committed, discarded }

    struct ReceivedFile {
        let path: String
        let writer: any BlobWriter
        let digest: String
        let size: Int64
    }

    private(set) var state = State.awaitingHeader
    private let blobs: any BlobStore
    private let maxBytes: Int64
    private(set) var header = Visionfleet_V1_UploadVersionHeader()
    private var manifest: ManifestSummary?
    private var current: (path: String, writer: any BlobWriter)?
    private(set) var files: [ReceivedFile] = []
    private var received: Int64 = 0
    private var uploadedManifestDigest: String?
    private var manifestWriter: (any BlobWriter)?

    init(blobs: any BlobStore, maxBytes: Int64) {
        self.blobs = blobs
        self.maxBytes = maxBytes
    }

    deinit { if state != .committed { discard() } }

    private func bad(_ item: String, _ field: String, _ message: String) -> RegistryError {
        .invalidArgument(item: item, field: field, message: message)
    }

    /// Takes the next message of the stream.
    func receive(_ message: Visionfleet_V1_UploadVersionRequest) throws {
        switch (state, message.part) {
        case (.awaitingHeader, .header(let h)?): try start(h)
        case (.awaitingHeader, _): throw bad("", "header", "the first message of an upload must be its header")
        case (.receiving, .chunk(let chunk)?): try take(chunk)
        case (.receiving, .header?): throw bad(header.model, "header", "a second header in one upload")
        case (.receiving, nil): throw bad(header.model, "part", "a message with neither header nor chunk")
        default: throw bad(header.model, "part", "message after the upload was \(state)")
        }
    }

    private func start(_ h: Visionfleet_V1_UploadVersionHeader) throws {
        try RegistryNames.checkModel(h.model, field: "header.model")
        for alias in h.aliases { try RegistryNames.checkAlias(alias, field: "header.aliases") }
        let summary = try ManifestSummary(parsing: h.manifestJson)
        if h.task != .unspecified, h.task != summary.task {
            throw bad(ManifestSummary.fileName, "task", "the manifest says \(summary.task), the header says \(h.task)")
        }
        header = h
        manifest = summary
        state = .receiving
    }

    private func take(_ chunk: Visionfleet_V1_FileChunk) throws {
        guard let manifest else { throw bad("", "header", "no header") }
        received += Int64(chunk.data.count)
        if received > maxBytes || chunk.totalSize > maxBytes {
            throw RegistryError.resourceExhausted("upload of \(header.model) is over the registry's limit of \(maxBytes >> 20) MiB")
        }
        if current == nil {
            let path = chunk.path
            guard !path.isEmpty else { throw bad("", "chunk.path", "the first chunk of a file must name its path") }
            guard path == ManifestSummary.fileName || manifest.files[path] != nil else {
                throw bad(path, "chunk.path", "the manifest does not name this file")
            }
            guard !files.contains(where: { $0.path == path }), !(path == ManifestSummary.fileName && uploadedManifestDigest != nil) else {
                throw bad(path, "chunk.path", "the file was sent twice")
            }
            guard chunk.offset == 0 else { throw bad(path, "chunk.offset", "the first chunk starts at offset \(chunk.offset), not 0") }
            current = (path, try storeCall { try blobs.makeWriter() })
        }
        guard let (path, writer) = current else { return }
        if !chunk.path.isEmpty, chunk.path != path {
            throw bad(chunk.path, "chunk.path", "a chunk of this file came before the last chunk of '\(path)'")
        }
        guard chunk.offset == writer.size else {
            throw bad(path, "chunk.offset", "expected offset \(writer.size), got \(chunk.offset) (a chunk is missing or repeated)")
        }
        try storeCall { try writer.write(chunk.data) }
        guard chunk.last else { return }
        current = nil
        let actual = try storeCall { try writer.finish() }.description
        guard !chunk.digest.isEmpty else { throw bad(path, "chunk.digest", "the last chunk of a file must carry its digest") }
        guard chunk.digest == actual else {
            throw bad(path, "chunk.digest", "the bytes received hash to \(actual), the chunk says \(chunk.digest)")
        }
        if chunk.totalSize > 0, chunk.totalSize != writer.size {
            throw bad(path, "chunk.total_size", "received \(writer.size) bytes, total_size says \(chunk.totalSize)")
        }
        if path == ManifestSummary.fileName {
            let headerDigest = SHA256Stream.digest(of: Data(header.manifestJson.utf8)).description
            guard actual == headerDigest else {
                throw bad(path, "chunk.digest", "the uploaded manifest.json differs from header.manifest_json")
            }
            uploadedManifestDigest = actual
            writer.abort()
            return
        }
        guard manifest.files[path] == actual else {
            throw bad(path, "digest", "the file hashes to \(actual), the manifest names \(manifest.files[path] ?? "")")
        }
        files.append(ReceivedFile(path: path, writer: writer, digest: actual, size: writer.size))
    }

    /// The stream ended: checks that every file arrived whole and returns the version to commit
    /// with the writers to commit first (the manifest's own blob among them).
    func finishReceiving(cancelled: Bool) throws -> (draft: VersionDraft, writers: [any BlobWriter]) {
        if cancelled { throw RegistryError.cancelled("the upload of \(header.model) was cancelled by the client") }
        guard state == .receiving, let manifest else {
            throw bad("", "header", "the stream ended before the upload's header")
        }
        if let current {
            throw bad(current.path, "chunk.last", "the stream ended before the last chunk of this file (\(current.writer.size) bytes received)")
        }
        let missing = manifest.files.keys.filter { path in !files.contains { $0.path == path } }.sorted()
        guard missing.isEmpty else {
            throw bad(missing.joined(separator: ", "), "files", "named by the manifest but not uploaded")
        }
        state = .verifying
        let manifestWriter = try storeCall { try blobs.makeWriter() }
        self.manifestWriter = manifestWriter
        try storeCall { try manifestWriter.write(Data(header.manifestJson.utf8)) }
        let manifestDigest = try storeCall { try manifestWriter.finish() }
        var modelFiles = [Visionfleet_V1_ModelFile.with {
            $0.path = ManifestSummary.fileName
            $0.digest = manifestDigest.description
            $0.size = manifestWriter.size
        }]
        modelFiles += files.sorted { $0.path < $1.path }.map { f in
            Visionfleet_V1_ModelFile.with { $0.path = f.path; $0.digest = f.digest; $0.size = f.size }
        }
        let draft = VersionDraft(
            model: header.model, createTask: manifest.task, task: manifest.task, manifestJSON: header.manifestJson,
            files: modelFiles, metrics: header.metrics.isEmpty ? manifest.metrics : header.metrics,
            lineage: header.hasLineage ? header.lineage : manifest.lineage, tags: header.tags,
            description: header.description_p, aliases: Array(Set(header.aliases)).sorted())
        return (draft, [manifestWriter] + files.map(\.writer))
    }

    func markCommitted() { state = .committed }

    /// Drops every temp file; the session is over.
    func discard() {
        current?.writer.abort()
        current = nil
        for f in files { f.writer.abort() }
        manifestWriter?.abort()
        state = .discarded
    }

    private func storeCall<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as StoreError { throw RegistryError.from(error) }
    }
}
