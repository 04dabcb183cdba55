import ArgumentParser
import Foundation
import Tensors
import VectorIndex

/// `vf bench search`: a gallery (100,000 × 128 random unit vectors, or raw little-endian float32
/// files) searched one query at a time, exactly (cblas_sgemm) and through the HNSW graph
/// (hnswlib): queries/s and HNSW recall@k against exact. `--peer` runs hnswlib and faiss from
/// Python on the peer's clustered data set (`../shared/peers/run ann`) in the same run, and this
/// index on the very same files, with the same M and ef_construction, and prints both.
struct SearchBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "search", abstract: "Similar-image search: exact and HNSW (vs hnswlib with --peer).")

    @Option(help: "Gallery rows when no --base is given.") var count = 100_000
    @Option(help: "Vector dimension.") var dim = 128
    @Option(help: "Neighbours per query.") var k = 10
    @Option(help: "Raw float32 gallery (rows of --dim).") var base: String?
    @Option(help: "Raw float32 queries (rows of --dim).") var queries: String?
    @Option(help: "Queries when generated.") var queryCount = 1000
    @Option(help: "HNSW links per node.") var m = 32
    @Option(help: "HNSW build breadth.") var efConstruction = 200
    @Option(help: "HNSW search breadth; 0 = the first of 16…512 that reaches recall 0.95.") var efSearch = 0
    @Flag(help: "Run the hnswlib/faiss peer on its data set first and search the same files.") var peer = false
    @Option(help: "Folder of the peer programs.") var peers = "../shared/peers"
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        func log(_ text: String) { if !json { FileHandle.standardError.write(Data((text + "\n").utf8)) } }
        var basePath = base, queryPath = queries
        var peerFigures: [String: Any] = [:]
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("vf-bench-search-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        if peer {
            peerFigures = try PeerProgram.run(peers, ["ann", "\(count)", "\(dim)", "\(k)", "--write", work.path])
            basePath = work.appendingPathComponent("base.f32").path
            queryPath = work.appendingPathComponent("queries.f32").path
        }
        let gallery = try basePath.map { try Self.read($0, dim: dim) } ?? Self.random(count, dim, seed: 1)
        let probes = try queryPath.map { try Self.read($0, dim: dim) } ?? Self.random(queryCount, dim, seed: 2)
        let n = gallery.count / dim, q = probes.count / dim
        log("gallery \(n) × \(dim), \(q) queries, k \(k)")
        let clock = ContinuousClock()
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
        func query(_ i: Int) -> [Float] { Array(probes[(i * dim)..<((i + 1) * dim)]) }

        let exact = ExactIndex(dimension: dim)
        try exact.add(gallery, ids: (0..<n).map(Int64.init))
        let truth = try exact.search(probes, k: k).map { Set($0.map(\.id)) }
        // One query per call, median of passes (≥ 3 and ≥ 1 s), as the peer times it.
        func timed(_ pass: () throws -> Void) rethrows -> Double {
            try pass()
            var passes: [Double] = []
            let start = clock.now
            while passes.count < 3 || seconds(clock.now - start) < 1 {
                let t = clock.now
                try pass()
                passes.append(seconds(clock.now - t))
            }
            return Double(q) / passes.sorted()[passes.count / 2]
        }
        let exactQPS = try timed { for i in 0..<q { _ = try exact.search(query(i), k: k) } }
        log(String(format: "exact: %.0f queries/s", exactQPS))

        let hnsw = try HNSWIndex(dimension: dim, capacity: n, parameters: .init(m: m, efConstruction: efConstruction))
        var start = clock.now
        try hnsw.add(gallery, ids: (0..<n).map(Int64.init))
        let build = seconds(clock.now - start)
        log(String(format: "hnsw build (M %d, efC %d, %d threads): %.2f s", m, efConstruction, hnsw.buildThreads, build))
        func recall() throws -> Double {
            var hits = 0
            for i in 0..<q { hits += try hnsw.search(query(i), k: k).filter { truth[i].contains($0.id) }.count }
            return Double(hits) / Double(q * k)
        }
        var ef = efSearch
        if ef == 0 {
            for candidate in [16, 32, 64, 128, 256, 512] {
                hnsw.efSearch = candidate
                let r = try recall()
                log(String(format: "  ef %d: recall@%d %.4f", candidate, k, r))
                ef = candidate
                if r >= 0.95 { break }
            }
        }
        hnsw.efSearch = ef
        start = clock.now
        let hnswQPS = try timed { for i in 0..<q { _ = try hnsw.search(query(i), k: k) } }
        let hnswRecall = try recall()
        log(String(format: "hnsw ef %d: %.0f queries/s, recall@%d %.4f", ef, hnswQPS, k, hnswRecall))

        var object: [String: Any] = [
            "n": n, "dim": dim, "k": k, "queries": q, "m": m, "ef_construction": efConstruction, "ef_search": ef,
            "exact_qps": exactQPS.rounded(), "hnsw_qps": hnswQPS.rounded(), "hnsw_recall_at_10": hnswRecall.rounded(toPlaces: 4),
            "hnsw_build_s": build.rounded(toPlaces: 2), "data": peer ? "peer-clustered" : (base == nil ? "random-unit" : "files"),
        ]
        if k != 10 { object["hnsw_recall_at_k"] = object.removeValue(forKey: "hnsw_recall_at_10") }
        if peer {
            for (key, value) in peerFigures { object["peer_\(key)"] = value }
            if let theirs = peerFigures["hnswlib_qps"] as? Double, theirs > 0 { object["ratio_hnsw_qps_vs_hnswlib"] = (hnswQPS / theirs).rounded(toPlaces: 2) }
            if let theirs = peerFigures["flat_qps_single"] as? Double, theirs > 0 { object["ratio_exact_qps_vs_faiss_flat"] = (exactQPS / theirs).rounded(toPlaces: 2) }
            if let theirs = peerFigures["hnswlib_build_s"] as? Double, theirs > 0 { object["ratio_build_s_vs_hnswlib"] = (build / theirs).rounded(toPlaces: 2) }
        }
        if json {
            try JSONLine.print(object)
        } else {
            for key in object.keys.sorted() { print("\(key)\t\(object[key]!)") }
        }
    }

    static func read(_ path: String, dim: Int) throws -> [Float] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("\(path): cannot read") }
        guard data.count % (4 * dim) == 0, !data.isEmpty else {
            throw ValidationError("\(path): \(data.count) bytes are not rows of \(dim) float32 values")
        }
        return data.withUnsafeBytes { raw in (0..<(data.count / 4)).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) } }
    }

    static func random(_ n: Int, _ d: Int, seed: UInt64) -> [Float] {
        var rng = RandomState(seed: seed)
        var v = [Float](repeating: 0, count: n * d)
        for r in 0..<n {
            var sum: Float = 0
            for j in 0..<d { let x = rng.nextGaussian(); v[r * d + j] = x; sum += x * x }
            let inverse = 1 / sum.squareRoot()
            for j in 0..<d { v[r * d + j] *= inverse }
        }
        return v
    }
}

/// Runs `PEERS/run ARGS...` and returns the JSON object it prints last.
enum PeerProgram {
    static func run(_ peers: String, _ arguments: [String]) throws -> [String: Any] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [URL(fileURLWithPath: peers).appendingPathComponent("run").path] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let last = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        guard process.terminationStatus == 0, let object = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any] else {
            throw ValidationError("the peer \(arguments.first ?? "") failed (exit \(process.terminationStatus)): \(last)")
        }
        return object
    }
}
