/// The validation figures worth a line for each task (the job keeps them all).
enum MetricText {
    static let headline: [String: [String]] = [
        "detection": ["ap", "ap50", "ap75", "ar100"],
        "classification": ["top1", "top5", "mean_class_accuracy"],
        "retrieval": ["precision@1", "hit_rate@1", "map@10", "recall@10", "mrr"],
    ]

    static func line(_ metrics: [String: Double], task: String) -> String {
        let wanted = headline[task] ?? []
        var names = wanted.filter { metrics[$0] != nil }
        if names.isEmpty { names = metrics.keys.sorted().filter { $0 != "epoch" && (metrics[$0] ?? -1) >= 0 } }
        return names.map { String(format: "%@ %.4f", $0, metrics[$0]!) }.joined(separator: ", ")
    }
}
