/// Top-1 / top-5 accuracy, per-class accuracy and the confusion matrix of class scores.
public struct ClassificationMetrics: Sendable, Equatable {
    public let classes: Int
    public private(set) var count = 0
    public private(set) var top1Hits = 0
    public private(set) var top5Hits = 0
    /// confusion[truth][prediction]
    public private(set) var confusion: [[Int]]

    public init(classes: Int) {
        self.classes = classes
        confusion = Array(repeating: Array(repeating: 0, count: classes), count: classes)
    }

    /// Adds `rows` score rows (rows × classes, row-major) with their true labels.
    public mutating func add(scores: UnsafePointer<Float>, labels: [Int32]) {
        let k = min(5, classes)
        for (r, label) in labels.enumerated() {
            let row = scores + r * classes
            let truth = Int(label)
            var best = 0
            for c in 1..<classes where row[c] > row[best] { best = c }
            // Rank of the true class: how many classes score strictly higher.
            var higher = 0
            for c in 0..<classes where row[c] > row[truth] { higher += 1 }
            count += 1
            if best == truth { top1Hits += 1 }
            if higher < k { top5Hits += 1 }
            confusion[truth][best] += 1
        }
    }

    public var top1: Double { count == 0 ? 0 : Double(top1Hits) / Double(count) }
    public var top5: Double { count == 0 ? 0 : Double(top5Hits) / Double(count) }

    /// Accuracy of each true class (recall); classes without samples report 0.
    public var perClassAccuracy: [Double] {
        confusion.enumerated().map { c, row in
            let total = row.reduce(0, +)
            return total == 0 ? 0 : Double(row[c]) / Double(total)
        }
    }

    /// Mean of the per-class accuracies over classes that have samples (balanced accuracy).
    public var meanClassAccuracy: Double {
        let present = confusion.enumerated().filter { $0.element.reduce(0, +) > 0 }
        guard !present.isEmpty else { return 0 }
        return present.map { c, row in Double(row[c]) / Double(row.reduce(0, +)) }.reduce(0, +) / Double(present.count)
    }
}
