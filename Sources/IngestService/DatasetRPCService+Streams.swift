import FleetProtos
import FleetRPC
import FleetStore
import Foundation

extension DatasetRPCService {
    /// Reads a whole blob, verified: a corrupted blob is DATA_LOSS and nothing of it is sent.
    static func verifiedBlob(_ digestText: String, ingest: DatasetIngest) throws -> Data {
        do {
            let reader = try ingest.blobs.openReader(try BlobDigest(parsing: digestText))
            var data = Data()
            data.reserveCapacity(Int(reader.size))
            while let chunk = try reader.read(max: 1 << 20) { data.append(chunk) }
            return data
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
    /// the split's stable order.
    static func streamSamples(_ request: Visionfleet_V1_StreamSamplesRequest, ingest: DatasetIngest,
                              writer: ResponseWriter<Visionfleet_V1_SampleBatch>) async throws {
        guard request.offset >= 0 else { throw IngestError.invalidArgument(item: "", field: "offset", message: "must not be negative") }
        guard request.batchItems >= 0 else { throw IngestError.invalidArgument(item: "", field: "batch_items", message: "must not be negative") }
        let batch = request.batchItems == 0 ? 256 : min(Int(request.batchItems), 4096)
        let ref = try ingest.catalog.version(request.ref)  // pins "latest" to one version for the whole stream
        let exact = Visionfleet_V1_DatasetRef.with { $0.name = ref.dataset; $0.version = ref.version }
        var offset = request.offset
        while true {
            let page = try ingest.catalog.items(exact, split: request.split, offset: offset, limit: batch)
            if page.isEmpty { return }
            var message = Visionfleet_V1_SampleBatch()
            message.samples = try page.map { index, item in
                try .with { $0.index = index; $0.item = item; $0.image = try verifiedBlob(item.blobDigest, ingest: ingest) }
            }
            try await writer.write(message)
            if page.count < batch { return }
            offset += Int64(page.count)
        }
    }
}
