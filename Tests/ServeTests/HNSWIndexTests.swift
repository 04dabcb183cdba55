import Foundation
import Tensors
import VectorIndex
import XCTest

/// The HNSW index (hnswlib behind the CHNSW shim) against the exact index.
final class HNSWIndexTests: XCTestCase {
    static func unitRows(_ n: Int, _ d: Int, seed: UInt64) -> [Float] {
        var rng = RandomState(seed: seed)
        var v = (0..<(n * d)).map { _ in rng.nextGaussian() }
        for r in 0..<n {
            var sum: Float = 0
            for j in 0..<d { sum += v[r * d + j] * v[r * d + j] }
            let norm = sum.squareRoot()
            for j in 0..<d { v[r * d + j] /= norm }
        }
        return v
    }

    func testRecallAt10AgainstExactOn20000RandomVectors() throws {
        let n = 20_000, d = 128, queries = 200
        let base = Self.unitRows(n, d, seed: 1), q = Self.unitRows(queries, d, seed: 2)
        let exact = ExactIndex(dimension: d)
        try exact.add(base, ids: (0..<n).map(Int64.init))
        let hnsw = try HNSWIndex(dimension: d, capacity: n, parameters: .init(m: 32, efConstruction: 200, efSearch: 256))
        try hnsw.add(base, ids: (0..<n).map(Int64.init))
        XCTAssertEqual(hnsw.count, n)
        let truth = try exact.search(q, k: 10)
        var hits = 0
        for i in 0..<queries {
            let found = try hnsw.search(Array(q[(i * d)..<((i + 1) * d)]), k: 10)
            XCTAssertEqual(found.count, 10)
            hits += Set(found.map(\.id)).intersection(truth[i].map(\.id)).count
            // Scores are inner products, best first.
            XCTAssertEqual(found.map(\.score), found.map(\.score).sorted(by: >))
        }
        let recall = Double(hits) / Double(queries * 10)
        XCTAssertGreaterThanOrEqual(recall, 0.95, "recall@10 \(recall)")
    }

    func testOnlineAddRemoveAndPersistence() throws {
        let d = 16
        let base = Self.unitRows(500, d, seed: 3)
        let index = try HNSWIndex(dimension: d, capacity: 16)   // grows as rows arrive
        try index.add(base, ids: (0..<500).map { Int64($0) * 10 })
        let row7 = Array(base[(7 * d)..<(8 * d)])
        XCTAssertEqual(try index.search(row7, k: 1).first?.id, 70)
        XCTAssertEqual(try index.search(row7, k: 1).first?.score ?? 0, 1, accuracy: 1e-5)
        XCTAssertTrue(index.remove(70))
        XCTAssertFalse(index.remove(70))
        XCTAssertFalse(index.remove(12345))
        XCTAssertEqual(index.count, 499)
        XCTAssertNotEqual(try index.search(row7, k: 1).first?.id, 70)
        try index.add(row7, ids: [70])      // back again
        XCTAssertEqual(try index.search(row7, k: 3, ef: 200).first?.id, 70)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hnsw-\(UUID().uuidString).bin")
        defer { try? FileManager.default.removeItem(at: url) }
        try index.write(to: url)
        let read = try HNSWIndex.read(from: url, dimension: d)
        XCTAssertEqual(read.count, 500)
        XCTAssertEqual(try read.search(row7, k: 1).first?.id, 70)
        XCTAssertThrowsError(try HNSWIndex.read(from: url, dimension: 32))
        XCTAssertThrowsError(try index.add([1, 2], ids: [1]))
        XCTAssertThrowsError(try index.search([1, 2], k: 1))
    }
}
