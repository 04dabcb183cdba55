import FleetProtos
import FleetRPC
import FleetStore
import Foundation

extension DatasetRPCService {
    /// Reads a whole blob, verified: a corrupted blob is DATA_LOSS and nothing of it is sent.
    static func verifiedBlob(_ digestText: String, ingest: DatasetIngest) throws -> Data {
        do {
            return try ingest.blobs.readWhole(try BlobDigest(parsing: digestText))
        } catch let error as StoreError {
            throw IngestError.from(error)
        }
    }

    static func downloadBlob(_ digest: String, ingest: DatasetIngest, writer: ResponseWriter<Visionfleet_V1_FileChunk>) async throws {
        let data = try verifiedBlob(digest, ingest: ingest)
        var offset = 0
        repeat {
            let end = min(offset + chunkSize, data.count)
            try await writer.write(.with {
                if offset == 0 { $0.path = digest; $0.totalSize = Int64(data.count) }
                $0.offset = Int64(offset)
                $0.data = data.subdata(in: offset..<end)
                if end == data.count { $0.last = true; $0.digest = digest }
            })
            offset = end
        } while offset < data.count
    }

    /// Items with their verified image bytes, `batch_items` per message, from `offset` on in
    /// the split's stable order. The next message is read (blobs on every core) while the
    /// current one is being sent.
    static func streamSamples(_ request: Visionfleet_V1_StreamSamplesRequest, ingest: DatasetIngest,
                              writer: ResponseWriter<Visionfleet_V1_SampleBatch>) async throws {
        guard request.offset >= 0 else { throw IngestError.invalidArgument(item: "", field: "offset", message: "must not be negative") }
        guard request.batchItems >= 0 else { throw IngestError.invalidArgument(item: "", field: "batch_items", message: "must not be negative") }
        let batch = request.batchItems == 0 ? 256 : min(Int(request.batchItems), 4096)
        let ref = try ingest.catalog.version(request.ref)  // pins "latest" to one version for the whole stream
        let exact = Visionfleet_V1_DatasetRef.with { $0.name = ref.dataset; $0.version = ref.version }
        let split = request.split
        @Sendable func page(_ offset: Int64) throws -> Visionfleet_V1_SampleBatch {
            let items = try ingest.catalog.items(exact, split: split, offset: offset, limit: batch)
            // Contiguous runs of blobs, one per core, each read in one go (verified).
            let workers = min(max(1, ProcessInfo.processInfo.activeProcessorCount), items.count)
            let runs = ConcurrentSlots<Result<[Data], any Error>>(count: workers)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let range = (items.count * w / workers)..<(items.count * (w + 1) / workers)
                runs.set(w, Result {
                    do { return try ingest.blobs.readAll(try range.map { try BlobDigest(parsing: items[$0].item.blobDigest) }) } catch let error as StoreError {
                        throw IngestError.from(error)
                    }
                })
            }
            var message = Visionfleet_V1_SampleBatch()
            message.samples.reserveCapacity(items.count)
            var images: [Data] = []
            images.reserveCapacity(items.count)
            for run in runs.values { images += try run!.get() }
            for ((index, item), bytes) in zip(items, images) {
                message.samples.append(.with { $0.index = index; $0.item = item; $0.image = bytes })
            }
            return message
        }
        let first = request.offset
        var offset = first
        var next = Task { try page(first) }
        while true {
            let message = try await next.value
            if message.samples.isEmpty { return }
            offset += Int64(message.samples.count)
            let more = message.samples.count == batch
            if more { let from = offset; next = Task { try page(from) } }
            try await writer.write(message)
            if !more { return }
        }
    }

    /// The version in a format's layout as a tar stream, 1 MiB per message; the last message
    /// carries the SHA-256 of the whole archive.
    static func exportDataset(_ request: Visionfleet_V1_ExportDatasetRequest, ingest: DatasetIngest,
                              writer: ResponseWriter<Visionfleet_V1_FileChunk>) async throws {
        let prepared = try DatasetExporter(ingest: ingest).prepare(request)
        defer { prepared.discard() }
        let hasher = SHA256Stream()
        var buffer = Data()
        var offset: Int64 = 0
        func send(last: Bool) async throws {
            hasher.update(buffer)
            let data = buffer
            let digest = last ? hasher.finish().description : ""
            try await writer.write(.with {
                if offset == 0 { $0.path = prepared.archiveName }
                $0.offset = offset
                $0.data = data
                if last { $0.last = true; $0.digest = digest }
            })
            offset += Int64(data.count)
            buffer.removeAll(keepingCapacity: true)
        }
        do {
            for file in prepared.files {
                buffer.append(try TarHeader.file(path: file.path, size: file.size))
                let handle = try FileHandle(forReadingFrom: file.url)
                defer { try? handle.close() }
                var read: Int64 = 0
                while let data = try handle.read(upToCount: chunkSize), !data.isEmpty {
                    buffer.append(data)
                    read += Int64(data.count)
                    if buffer.count >= chunkSize { try await send(last: false) }
                }
                guard read == file.size else { throw IngestError.storage("\(file.path) changed size while being exported") }
                buffer.append(TarHeader.padding(after: file.size))
            }
        } catch let error as ArchiveError {
            throw IngestError.invalidArgument(item: request.ref.name, field: "format", message: error.description)
        }
        // Every file is read: the folder goes before the last message, so a client that has
        // the whole archive never finds it.
        prepared.discard()
        buffer.append(TarHeader.end)
        try await send(last: true)
    }
}
