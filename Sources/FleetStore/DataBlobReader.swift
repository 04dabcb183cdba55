import Foundation

/// A blob held in memory, checked against its digest before its bytes are handed out.
final class DataBlobReader: BlobReader {
    let size: Int64
    private var data: Data?
    private var offset = 0

    init(data: Data, digest: BlobDigest) throws {
        try LocalBlobStore.verify(data, digest)
        self.data = data
        size = Int64(data.count)
    }

    func read(max: Int) throws -> Data? {
        guard let data, offset < data.count else { return nil }
        let end = min(offset + max, data.count)
        defer { offset = end }
        return offset == 0 && end == data.count ? data : data.subdata(in: offset..<end)
    }
}
