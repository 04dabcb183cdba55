import CHNSW
import Foundation

/// Approximate nearest-neighbour search by inner product (cosine on unit vectors) over an HNSW
/// graph: hnswlib (Debian's libhnswlib-dev) behind the `CHNSW` shim. Adds and removals are
/// online; searches run concurrently with each other; `write`/`read` persist the graph.
public final class HNSWIndex: @unchecked Sendable {
    public struct Parameters: Sendable, Equatable {
        /// Links per node (hnswlib's M).
        public var m: Int
        /// Breadth while building.
        public var efConstruction: Int
        /// Default breadth while searching (raised to k when smaller).
        public var efSearch: Int
        public var seed: Int

        public init(m: Int = 16, efConstruction: Int = 200, efSearch: Int = 64, seed: Int = 100) {
            self.m = m; self.efConstruction = efConstruction; self.efSearch = efSearch; self.seed = seed
        }
    }

    public let dimension: Int
    private let handle: OpaquePointer
    /// Threads used to build.
    public var buildThreads = max(1, ProcessInfo.processInfo.activeProcessorCount)

    public init(dimension: Int, capacity: Int = 1024, parameters: Parameters = Parameters()) throws(VectorIndexError) {
        guard dimension > 0 else { throw .shape("dimension must be positive") }
        guard parameters.m >= 2, parameters.efConstruction >= 1, parameters.efSearch >= 1 else {
            throw .shape("HNSW parameters must be positive (M ≥ 2)")
        }
        var error = [CChar](repeating: 0, count: 256)
        guard let h = vfh_create(Int32(dimension), capacity, parameters.m, parameters.efConstruction, parameters.seed, &error, error.count) else {
            throw .shape("HNSW: \(Self.text(error))")
        }
        self.dimension = dimension
        handle = h
        vfh_set_ef(handle, parameters.efSearch)
    }

    private init(dimension: Int, handle: OpaquePointer) {
        self.dimension = dimension
        self.handle = handle
    }

    deinit { vfh_free(handle) }

    public var count: Int { vfh_count(handle) }

    public var efSearch: Int {
        get { vfh_ef(handle) }
        set { vfh_set_ef(handle, max(1, newValue)) }
    }

    /// Adds rows (an id already present is replaced).
    public func add(_ values: [Float], ids: [Int64]) throws(VectorIndexError) {
        guard values.count == ids.count * dimension else {
            throw .shape("add: \(values.count) values for \(ids.count) ids of dimension \(dimension)")
        }
        guard values.allSatisfy(\.isFinite) else { throw .shape("add: vectors contain NaN or infinity") }
        guard !ids.isEmpty else { return }
        var error = [CChar](repeating: 0, count: 256)
        let labels = ids.map { UInt64(bitPattern: $0) }
        let rc = values.withUnsafeBufferPointer { v in
            labels.withUnsafeBufferPointer { l in
                vfh_add(handle, v.baseAddress, l.baseAddress, ids.count, Int32(buildThreads), &error, error.count)
            }
        }
        guard rc == 0 else { throw .shape("HNSW add: \(Self.text(error))") }
    }

    /// Removes an id; false when it was not there.
    @discardableResult
    public func remove(_ id: Int64) -> Bool { vfh_remove(handle, UInt64(bitPattern: id)) == 0 }

    /// The k best rows for one query, best first; `ef` 0 = the default breadth.
    public func search(_ query: [Float], k: Int, ef: Int = 0) throws(VectorIndexError) -> [ExactIndex.Hit] {
        guard query.count == dimension else { throw .shape("search: \(query.count) values, the index holds \(dimension)") }
        guard k > 0 else { throw .shape("search: k must be positive") }
        var labels = [UInt64](repeating: 0, count: k)
        var scores = [Float](repeating: 0, count: k)
        let found = query.withUnsafeBufferPointer { q in
            vfh_search(handle, q.baseAddress, k, ef > 0 ? max(ef, k) : 0, &labels, &scores)
        }
        return (0..<found).map { ExactIndex.Hit(id: Int64(bitPattern: labels[$0]), score: scores[$0]) }
    }

    public func write(to url: URL) throws(VectorIndexError) {
        var error = [CChar](repeating: 0, count: 256)
        guard vfh_save(handle, url.path, &error, error.count) == 0 else { throw .io(url.path, Self.text(error)) }
    }

    public static func read(from url: URL, dimension: Int) throws(VectorIndexError) -> HNSWIndex {
        guard FileManager.default.fileExists(atPath: url.path) else { throw .io(url.path, "no such file") }
        var error = [CChar](repeating: 0, count: 256)
        guard let h = vfh_load(url.path, Int32(dimension), &error, error.count) else { throw .io(url.path, Self.text(error)) }
        return HNSWIndex(dimension: dimension, handle: h)
    }

    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
