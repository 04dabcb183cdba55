import Foundation
import TestSupport
import XCTest
@testable import Tensors
@testable import VectorIndex
@testable import VisionEval

final class RetrievalTests: XCTestCase {
    func randomVectors(_ n: Int, _ d: Int, _ rng: inout RandomState) -> [Float] {
        var v = (0..<(n * d)).map { _ in rng.nextFloat() * 2 - 1 }
        for i in 0..<n {
            let norm = (0..<d).reduce(Float(0)) { $0 + v[i * d + $1] * v[i * d + $1] }.squareRoot()
            for j in 0..<d { v[i * d + j] /= norm }
        }
        return v
    }

    func testExactIndexMatchesBruteForceAndPersists() throws {
        var rng = RandomState(seed: 1)
        let d = 24, n = 700, q = 37
        let gallery = randomVectors(n, d, &rng), queries = randomVectors(q, d, &rng)
        let index = ExactIndex(dimension: d)
        try index.add(gallery, ids: (0..<n).map { Int64($0 * 3) })
        let hits = try index.search(queries, k: 7)
        for qi in 0..<q {
            let naive = (0..<n).map { j in (j, (0..<d).reduce(Float(0)) { $0 + queries[qi * d + $1] * gallery[j * d + $1] }) }
                .sorted { $0.1 > $1.1 }.prefix(7)
            XCTAssertEqual(hits[qi].map(\.id), naive.map { Int64($0.0 * 3) })
            for (h, r) in zip(hits[qi], naive) { XCTAssertEqual(h.score, r.1, accuracy: 1e-5) }
        }
        // Self-excluded search over the collection never returns the query itself.
        let own = try index.search(Array(gallery[0..<(5 * d)]), k: 3, excludingSelf: true)
        for (i, row) in own.enumerated() { XCTAssertFalse(row.map(\.id).contains(Int64(i * 3))) }
        // Round trip through a file; a truncated file is refused.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vf-index-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        try index.write(to: url)
        let back = try ExactIndex.read(from: url)
        XCTAssertEqual(try back.search(queries, k: 7), hits)
        try Data(try Data(contentsOf: url).dropLast(5)).write(to: url)
        XCTAssertThrowsError(try ExactIndex.read(from: url))
        XCTAssertThrowsError(try index.add([1, 2], ids: [1]))
        XCTAssertThrowsError(try index.search([1], k: 3))
    }

    /// Our metrics equal ranx's on rankings from the index (labels decide relevance).
    func testMetricsAgreeWithRanx() throws {
        var rng = RandomState(seed: 5)
        let d = 8, n = 300, q = 60, classes = 7
        let gallery = randomVectors(n, d, &rng), queries = randomVectors(q, d, &rng)
        let galleryLabels = (0..<n).map { _ in rng.nextInt(classes) }
        let queryLabels = (0..<q).map { _ in rng.nextInt(classes) }
        let index = ExactIndex(dimension: d)
        try index.add(gallery, ids: (0..<n).map(Int64.init))
        let hits = try index.search(queries, k: 20)
        let ks = [1, 5, 10, 25]  // 25 > the 20 retrieved: ranx's fix_k
        var ours = RetrievalMetrics(ks: ks)
        var qrels: [String: [String: Int]] = [:], run: [String: [String: Double]] = [:]
        for qi in 0..<q {
            let relevantIds = (0..<n).filter { galleryLabels[$0] == queryLabels[qi] }
            ours.add(ranked: hits[qi].map { galleryLabels[Int($0.id)] == queryLabels[qi] }, totalRelevant: relevantIds.count)
            qrels["q\(qi)"] = Dictionary(uniqueKeysWithValues: relevantIds.map { ("d\($0)", 1) })
            run["q\(qi)"] = Dictionary(uniqueKeysWithValues: hits[qi].map { ("d\($0.id)", Double($0.score)) })
        }
        var metrics = ["mrr"]
        for k in ks { metrics += ["hit_rate@\(k)", "precision@\(k)", "recall@\(k)", "map@\(k)", "ndcg@\(k)"] }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vf-ranx-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try JSONSerialization.data(withJSONObject: ["qrels": qrels, "run": run, "metrics": metrics]).write(to: file)
        let result = try runPython([Repo.path("Tests/VisionTests/Python/ranx_eval.py"), file.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let theirs = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Double], result.stdout)
        let values = ours.values
        for m in metrics { XCTAssertEqual(values[m] ?? -1, theirs[m] ?? -2, accuracy: 1e-9, m) }
        XCTAssertTrue(values["hit_rate@10"]! > 0.3 && values["map@10"]! < 0.2, "\(values)")
    }
}
