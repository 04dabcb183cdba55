import FleetProtos
import FleetRPC
import FleetStore
import Foundation

extension RegistryRPCService {
    /// Streams a version's files in 1 MiB chunks: the path (and total size) on each file's first
    /// chunk, its digest on the last. Every blob is verified before the first byte goes out, so
    /// a corrupted blob answers DATA_LOSS and is never streamed.
    static func download(_ request: Visionfleet_V1_DownloadVersionRequest, registry: ModelRegistry,
                         writer: ResponseWriter<Visionfleet_V1_FileChunk>) async throws {
        let version = try registry.metadata.version(request.ref)
        var files = version.files
        if !request.paths.isEmpty {
            let known = Set(files.map(\.path))
            for path in request.paths where !known.contains(path) {
                throw RegistryError.notFound("\(version.model) version \(version.version) has no file '\(path)'")
            }
            files = files.filter { request.paths.contains($0.path) }
        }
        func blobCall<T>(_ file: Visionfleet_V1_ModelFile, _ body: () throws -> T) throws -> T {
            do { return try body() } catch let error as StoreError {
                let reason = RegistryError.from(error)
                throw RegistryError.dataLoss("\(version.model) version \(version.version), file \(file.path): \(reason)")
            }
        }
        let digests = try files.map { file in try blobCall(file) { try BlobDigest(parsing: file.digest) } }
        for (file, digest) in zip(files, digests) { _ = try blobCall(file) { try registry.blobs.verify(digest) } }

        for (file, digest) in zip(files, digests) {
            let reader = try blobCall(file) { try registry.blobs.openReader(digest) }
            var offset: Int64 = 0
            var pending = try blobCall(file) { try reader.read(max: chunkSize) }
            repeat {
                let next = pending == nil ? nil : try blobCall(file) { try reader.read(max: chunkSize) }
                var chunk = Visionfleet_V1_FileChunk()
                if offset == 0 {
                    chunk.path = file.path
                    chunk.totalSize = file.size
                }
                chunk.offset = offset
                if let data = pending { chunk.data = data }
                if next == nil {
                    chunk.last = true
                    chunk.digest = file.digest
                    if chunk.path.isEmpty { chunk.path = file.path }
                }
                offset += Int64(chunk.data.count)
                try await writer.write(chunk)
                pending = next
            } while pending != nil
        }
    }

    /// Replays the events after `from_sequence`, then follows new ones until the client leaves
    /// or the server shuts down (the stream then ends OK; the client resumes from its last
    /// sequence on another replica or after the restart).
    static func watch(_ request: Visionfleet_V1_WatchEventsRequest, registry: ModelRegistry,
                      writer: ResponseWriter<Visionfleet_V1_RegistryEvent>) async throws {
        var cursor = max(request.fromSequence, 0)
        let model = request.model.isEmpty ? nil : request.model
        let batchSize = 256
        while !Task.isCancelled, !registry.hub.isClosed {
            // Events up to `seen` are committed, so the query below returns all of them.
            let seen = registry.hub.latest
            let batch = try registry.metadata.events(after: cursor, model: model, limit: batchSize)
            for event in batch {
                try await writer.write(event)
                cursor = event.sequence
            }
            if batch.count == batchSize { continue }
            cursor = max(cursor, seen)
            await registry.hub.wait(after: cursor)
        }
    }
}
