import Foundation

/// Ranking metrics for similar-image retrieval, per query then averaged over queries, with
/// ranx's definitions (binary relevance):
/// - `hitRate@k` — 1 when any relevant item is in the top k: the "Recall@k" (R@K) of EasyCV and
///   of the metric-learning literature;
/// - `precision@k` — relevant in the top k / k;
/// - `recall@k` — relevant in the top k / all relevant;
/// - `map@k` — Σ over relevant ranks r ≤ k of precision@r, divided by **all** relevant items
///   (ranx's convention, not min(k, relevant));
/// - `ndcg@k` — Järvelin DCG with 1/log2(rank+1) gains over the ideal DCG at k;
/// - `mrr` — 1 / rank of the first relevant item.
/// A k larger than a ranked list uses the whole list (ranx's `fix_k`), except precision,
/// which divides by k.
public struct RetrievalMetrics: Sendable {
    public private(set) var queries = 0
    private var sums: [String: Double] = [:]
    public let ks: [Int]

    public init(ks: [Int] = [1, 5, 10]) {
        precondition(ks.allSatisfy { $0 > 0 }, "k must be positive")
        self.ks = ks
    }

    /// Adds one query: `relevant` flags its ranked results best first; `totalRelevant` counts
    /// every relevant item in the collection (≥ the flags set).
    public mutating func add(ranked relevant: [Bool], totalRelevant: Int) {
        queries += 1
        guard totalRelevant > 0 else { return }  // ranx scores a query without relevant items 0
        for k in ks {
            let kk = min(k, relevant.count)
            var hits = 0, ap = 0.0, dcg = 0.0
            for i in 0..<kk where relevant[i] {
                hits += 1
                ap += Double(hits) / Double(i + 1)
                dcg += 1 / log2(Double(i + 2))
            }
            var idcg = 0.0
            for i in 0..<min(k, totalRelevant) { idcg += 1 / log2(Double(i + 2)) }
            sums["hit_rate@\(k)", default: 0] += hits > 0 ? 1 : 0
            sums["precision@\(k)", default: 0] += Double(hits) / Double(k)
            sums["recall@\(k)", default: 0] += Double(hits) / Double(totalRelevant)
            sums["map@\(k)", default: 0] += ap / Double(totalRelevant)
            sums["ndcg@\(k)", default: 0] += idcg > 0 ? dcg / idcg : 0
        }
        if let first = relevant.firstIndex(of: true) { sums["mrr", default: 0] += 1 / Double(first + 1) }
    }

    /// Mean of each metric over the queries added ("hit_rate@1", "map@10", "ndcg@5", "mrr", ...).
    public var values: [String: Double] {
        guard queries > 0 else { return [:] }
        var out: [String: Double] = ["mrr": (sums["mrr"] ?? 0) / Double(queries)]
        for k in ks {
            for name in ["hit_rate", "precision", "recall", "map", "ndcg"] {
                out["\(name)@\(k)"] = (sums["\(name)@\(k)"] ?? 0) / Double(queries)
            }
        }
        return out
    }
}
