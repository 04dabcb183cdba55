import CBLAS
import Foundation

/// Exact nearest-neighbour search by inner product (cosine similarity on L2-normalised
/// vectors): query blocks against the whole collection through `cblas_sgemm`, then a top-k
/// selection per query. Vectors are Float32 rows of `dimension` values with Int64 ids and,
/// optionally, an Int32 label per row (a retrieval gallery's class).
public final class ExactIndex: @unchecked Sendable {
    public let dimension: Int
    public private(set) var ids: [Int64] = []
    /// One per row when every `add` gave labels, else nil.
    public private(set) var labels: [Int32]?
    private(set) var vectors: [Float] = []

    public var count: Int { ids.count }

    public init(dimension: Int) {
        precondition(dimension > 0, "dimension must be positive")
        self.dimension = dimension
    }

    /// Adds rows (`values.count` must be a multiple of the dimension, one id per row, and one
    /// label per row when given; labels are kept only while every add gives them).
    public func add(_ values: [Float], ids newIds: [Int64], labels newLabels: [Int32]? = nil) throws(VectorIndexError) {
        guard values.count == newIds.count * dimension else {
            throw .shape("add: \(values.count) values for \(newIds.count) ids of dimension \(dimension)")
        }
        if let newLabels, newLabels.count != newIds.count {
            throw .shape("add: \(newLabels.count) labels for \(newIds.count) ids")
        }
        guard values.allSatisfy(\.isFinite) else { throw .shape("add: vectors contain NaN or infinity") }
        labels = switch (ids.isEmpty, labels, newLabels) {
        case (true, _, let l?): l
        case (false, let old?, let l?): old + l
        default: nil
        }
        vectors += values
        ids += newIds
    }

    /// The rows' vectors, row-major.
    public var allVectors: [Float] { vectors }

    /// One query's results, best first.
    public struct Hit: Sendable, Equatable {
        public let id: Int64
        public let score: Float
    }

    /// The `k` rows with the largest inner product for each query row. With `excluding`, a
    /// query never retrieves the id at the same position (query set = collection).
    public func search(_ queries: [Float], k: Int, excludingSelf: Bool = false) throws(VectorIndexError) -> [[Hit]] {
        guard queries.count % dimension == 0 else { throw .shape("search: \(queries.count) values are not rows of \(dimension)") }
        guard k > 0 else { throw .shape("search: k must be positive") }
        let q = queries.count / dimension, n = count, kk = min(k, n)
        guard n > 0 else { return Array(repeating: [], count: q) }
        var results = [[Hit]](repeating: [], count: q)
        let block = max(1, min(q, (16 << 20) / max(n, 1)))  // ≤ 64 MiB of scores at a time
        var scores = [Float](repeating: 0, count: block * n)
        var start = 0
        while start < q {
            let rows = min(block, q - start)
            queries.withUnsafeBufferPointer { qp in
                vectors.withUnsafeBufferPointer { vp in
                    scores.withUnsafeMutableBufferPointer { sp in
                        if rows == 1 {
                            // One query: a matrix-vector product (GEMM with one row is slower).
                            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(dimension), 1, vp.baseAddress!, Int32(dimension),
                                        qp.baseAddress! + start * dimension, 1, 0, sp.baseAddress!, 1)
                        } else {
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(n), Int32(dimension), 1,
                                        qp.baseAddress! + start * dimension, Int32(dimension), vp.baseAddress!, Int32(dimension), 0,
                                        sp.baseAddress!, Int32(n))
                        }
                    }
                }
            }
            scores.withUnsafeBufferPointer { sp in
                for r in 0..<rows {
                    results[start + r] = Self.top(kk, sp.baseAddress! + r * n, n, skip: excludingSelf ? start + r : -1).map {
                        Hit(id: ids[$0.index], score: $0.score)
                    }
                }
            }
            start += rows
        }
        return results
    }

    /// Indices of the k largest of `n` scores, best first (ties by lower index).
    static func top(_ k: Int, _ s: UnsafePointer<Float>, _ n: Int, skip: Int) -> [(index: Int, score: Float)] {
        var best: [(index: Int, score: Float)] = []
        best.reserveCapacity(k + 1)
        var floor = -Float.infinity
        for i in 0..<n where i != skip {
            let v = s[i]
            if best.count == k && v <= floor { continue }
            // Insert keeping descending order; equal scores keep the earlier index first.
            var j = best.count
            while j > 0 && best[j - 1].score < v { j -= 1 }
            best.insert((i, v), at: j)
            if best.count > k { best.removeLast() }
            if best.count == k { floor = best[k - 1].score }
        }
        return best
    }

    // MARK: persistence

    static let magic: [UInt8] = Array("VFEXACT1".utf8)
    static let labeledMagic: [UInt8] = Array("VFEXACT2".utf8)

    /// Writes the index atomically: magic, dimension and count (little-endian Int64), ids,
    /// vectors, and with labels (magic VFEXACT2) an Int32 label per row.
    public func write(to url: URL) throws(VectorIndexError) {
        var data = Data(labels == nil ? Self.magic : Self.labeledMagic)
        withUnsafeBytes(of: Int64(dimension).littleEndian) { data.append(contentsOf: $0) }
        withUnsafeBytes(of: Int64(count).littleEndian) { data.append(contentsOf: $0) }
        ids.withUnsafeBytes { data.append(contentsOf: $0) }
        vectors.withUnsafeBytes { data.append(contentsOf: $0) }
        labels?.withUnsafeBytes { data.append(contentsOf: $0) }
        do { try data.write(to: url, options: .atomic) } catch { throw .io(url.path, "\(error.localizedDescription)") }
    }

    public static func read(from url: URL) throws(VectorIndexError) -> ExactIndex {
        guard let data = try? Data(contentsOf: url) else { throw .io(url.path, "cannot read") }
        guard data.count >= 24, Array(data.prefix(8)) == magic || Array(data.prefix(8)) == labeledMagic else {
            throw .io(url.path, "not an exact index file")
        }
        let labeled = Array(data.prefix(8)) == labeledMagic
        let (dimension, count) = data.withUnsafeBytes { raw in
            (Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: Int64.self))),
             Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: Int64.self))))
        }
        guard dimension > 0, count >= 0, data.count == 24 + count * 8 + count * dimension * 4 + (labeled ? count * 4 : 0) else {
            throw .io(url.path, "size does not match \(count) vectors of dimension \(dimension) (truncated?)")
        }
        let index = ExactIndex(dimension: dimension)
        data.withUnsafeBytes { raw in
            index.ids = (0..<count).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 24 + 8 * $0, as: Int64.self)) }
            let base = 24 + 8 * count
            index.vectors = (0..<(count * dimension)).map { raw.loadUnaligned(fromByteOffset: base + 4 * $0, as: Float.self) }
            if labeled {
                let start = base + 4 * count * dimension
                index.labels = (0..<count).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 4 * $0, as: Int32.self)) }
            }
        }
        return index
    }
}

public enum VectorIndexError: Error, Equatable, Sendable, CustomStringConvertible {
    case shape(String)
    case io(String, String)

    public var description: String {
        switch self {
        case .shape(let m): m
        case .io(let path, let m): "\(path): \(m)"
        }
    }
}
