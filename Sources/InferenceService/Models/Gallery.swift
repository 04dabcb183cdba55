import Foundation
import Synchronization
import VectorIndex
import VisionModels

/// A retrieval model's searchable gallery: the package's items plus online additions and
/// removals, which are appended to a log under vf-serve's home (one JSON line each, fsynced)
/// and replayed at load, so they survive a restart. Items are unit embeddings with the
/// caller's id, and optionally a class id and label.
public final class Gallery: Sendable {
    public struct Item: Sendable, Equatable {
        public var id: String
        public var classId: Int32
        public var label: String
        /// The item's image in vf-ingest ("" when unknown).
        public var blobDigest: String = ""
    }

    public struct Hit: Sendable {
        public var item: Item
        public var score: Float
    }

    private struct State {
        var index: ExactIndex
        var graph: HNSWIndex
        var items: [Item]                 // by row
        var rows: [String: Int64] = [:]   // id → live row
        var removed: Set<Int64> = []
    }

    public let dimension: Int
    private let state: Mutex<State>
    private let log: URL?

    private struct LogLine: Codable {
        var op: String          // "add" | "remove"
        var id: String
        var classId: Int32?
        var label: String?
        var vector: [Float]?
        var blobDigest: String?
    }

    /// The package's gallery (ids are its row numbers as text, labels the class names), with
    /// the changes logged at `log` replayed. `graphCache`: where the HNSW graph of the package's
    /// rows is kept (name it by the gallery's digest and the parameters): read when there,
    /// else built and written, so a restart does not rebuild it.
    init(package index: ExactIndex?, dimension: Int, classNames: [String], sources: [ModelManifest.GallerySource]? = nil, log: URL?,
         graphCache: URL? = nil, hnsw: HNSWIndex.Parameters = HNSWIndex.Parameters()) throws {
        self.dimension = dimension
        let base = index ?? ExactIndex(dimension: dimension)
        let labels = base.labels
        var rows: [Int64] = []
        var items: [Item] = []
        for (row, id) in base.ids.enumerated() {
            let c = labels?[row] ?? -1
            items.append(Item(id: "\(id)", classId: c, label: c >= 0 && Int(c) < classNames.count ? classNames[Int(c)] : "",
                              blobDigest: sources.map { $0[row].blobDigest } ?? ""))
            rows.append(Int64(row))
        }
        var state = State(index: ExactIndex(dimension: dimension), graph: try Self.graph(of: base, rows: rows, cache: graphCache, hnsw: hnsw),
                          items: [])
        if !rows.isEmpty { try state.index.add(base.allVectors, ids: rows) }
        state.items = items
        for (row, item) in items.enumerated() { state.rows[item.id] = Int64(row) }
        self.log = log
        if let log, let text = try? String(contentsOf: log, encoding: .utf8) {
            for line in text.split(separator: "\n") {
                // A torn last line (crash mid-append) is skipped.
                guard let entry = try? JSONDecoder().decode(LogLine.self, from: Data(line.utf8)) else { continue }
                if entry.op == "remove" {
                    Self.remove(entry.id, from: &state)
                } else if let v = entry.vector, v.count == dimension {
                    try Self.add(Item(id: entry.id, classId: entry.classId ?? -1, label: entry.label ?? "", blobDigest: entry.blobDigest ?? ""),
                                 vector: v, to: &state)
                }
            }
        }
        self.state = Mutex(state)
    }

    public var count: Int { state.withLock { $0.rows.count } }

    /// The HNSW graph over the package's rows: from `cache` when it holds them, else built
    /// (and written there through a temporary file, so a torn write is never read).
    private static func graph(of base: ExactIndex, rows: [Int64], cache: URL?, hnsw: HNSWIndex.Parameters) throws -> HNSWIndex {
        if let cache, let saved = try? HNSWIndex.read(from: cache, dimension: base.dimension), saved.count == base.count {
            saved.efSearch = hnsw.efSearch
            return saved
        }
        let graph = try HNSWIndex(dimension: base.dimension, capacity: max(base.count, 1024), parameters: hnsw)
        guard !rows.isEmpty else { return graph }
        try graph.add(base.allVectors, ids: rows)
        if let cache {
            let temp = cache.deletingLastPathComponent().appendingPathComponent(".\(cache.lastPathComponent).\(UUID().uuidString)")
            try? FileManager.default.createDirectory(at: cache.deletingLastPathComponent(), withIntermediateDirectories: true)
            if (try? graph.write(to: temp)) != nil { _ = rename(temp.path, cache.path) }
            try? FileManager.default.removeItem(at: temp)
        }
        return graph
    }

    /// Adds (or replaces) items; returns (added, replaced).
    public func add(_ entries: [(item: Item, vector: [Float])]) throws -> (added: Int, replaced: Int) {
        for e in entries where e.vector.count != dimension {
            throw ServeError.invalidArgument(item: e.item.id, field: "embedding", message: "\(e.vector.count) values, the gallery holds \(dimension)")
        }
        try append(entries.map {
            LogLine(op: "add", id: $0.item.id, classId: $0.item.classId, label: $0.item.label, vector: $0.vector,
                    blobDigest: $0.item.blobDigest.isEmpty ? nil : $0.item.blobDigest)
        })
        return try state.withLock { s in
            var added = 0, replaced = 0
            for e in entries {
                if Self.remove(e.item.id, from: &s) { replaced += 1 } else { added += 1 }
                try Self.add(e.item, vector: e.vector, to: &s)
            }
            return (added, replaced)
        }
    }

    /// Removes items by id; returns the ids that were not there.
    public func remove(_ ids: [String]) throws -> [String] {
        let present = state.withLock { s in ids.filter { s.rows[$0] != nil } }
        try append(present.map { LogLine(op: "remove", id: $0) })
        return state.withLock { s in ids.filter { !Self.remove($0, from: &s) } }
    }

    /// The k most similar items to a unit query, best first: from the HNSW graph (breadth `ef`,
    /// 0 = its default), or by exact inner product.
    public func search(_ query: [Float], k: Int, exact: Bool = false, ef: Int = 0) throws -> [Hit] {
        try state.withLock { s in
            let hits = exact ? try s.index.search(query, k: k + s.removed.count)[0] : try s.graph.search(query, k: k, ef: ef)
            var out: [Hit] = []
            for hit in hits where !s.removed.contains(hit.id) && out.count < k { out.append(Hit(item: s.items[Int(hit.id)], score: hit.score)) }
            return out
        }
    }

    private static func add(_ item: Item, vector: [Float], to s: inout State) throws {
        let row = Int64(s.items.count)
        try s.index.add(vector, ids: [row])
        try s.graph.add(vector, ids: [row])
        s.items.append(item)
        s.rows[item.id] = row
    }

    @discardableResult
    private static func remove(_ id: String, from s: inout State) -> Bool {
        guard let row = s.rows.removeValue(forKey: id) else { return false }
        s.removed.insert(row)
        s.graph.remove(row)
        return true
    }

    private func append(_ lines: [LogLine]) throws {
        guard let log, !lines.isEmpty else { return }
        var data = Data()
        for line in lines { data.append(try JSONEncoder().encode(line)); data.append(0x0A) }
        try FileManager.default.createDirectory(at: log.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: data)
        try handle.synchronize()
    }
}
