/// Post-processing kept apart from the losses: score threshold, greedy non-maximum suppression
/// (per class, or across classes), a cap on detections per image.
public struct NonMaxSuppression: Sendable, Equatable {
    public var scoreThreshold: Float
    public var iouThreshold: Float
    public var classAgnostic: Bool
    public var maxDetections: Int

    public init(scoreThreshold: Float = 0.01, iouThreshold: Float = 0.65, classAgnostic: Bool = false, maxDetections: Int = 100) {
        self.scoreThreshold = scoreThreshold
        self.iouThreshold = iouThreshold
        self.classAgnostic = classAgnostic
        self.maxDetections = maxDetections
    }

    /// The kept detections, best first.
    public func apply(_ candidates: [Detection]) -> [Detection] {
        let sorted = candidates.filter { $0.score >= scoreThreshold && $0.area > 0 }
            .sorted { $0.score > $1.score || ($0.score == $1.score && $0.classIndex < $1.classIndex) }
        var kept: [Detection] = []
        kept.reserveCapacity(min(sorted.count, maxDetections))
        for d in sorted {
            if kept.count == maxDetections { break }
            let suppressed = kept.contains { k in (classAgnostic || k.classIndex == d.classIndex) && k.iou(d) > iouThreshold }
            if !suppressed { kept.append(d) }
        }
        return kept
    }
}
