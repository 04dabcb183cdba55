import Foundation
import VisionData

/// YOLOX's SimOTA label assignment for one image. Candidates are anchors whose centre lies
/// inside a ground-truth box or within `centerRadius` strides of its centre. The cost of pairing
/// is BCE(√(σ(cls)·σ(obj)), one-hot) + 3·(−log IoU), plus 1e5 unless the anchor is in both the
/// box and the centre region. Each ground truth takes its k lowest-cost anchors, where
/// k = max(1, ⌊Σ of its ten best IoUs⌋). An anchor claimed twice goes to the cheaper ground truth.
public struct SimOTAAssigner: Sendable {
    public var centerRadius: Float = 2.5
    public var candidateTopK = 10
    public var iouWeight: Float = 3

    public init() {}

    public struct Anchor: Sendable, Equatable {
        public var x: Float, y: Float, stride: Float   // centre in input pixels
        public init(x: Float, y: Float, stride: Float) { self.x = x; self.y = y; self.stride = stride }
    }

    public struct Truth: Sendable, Equatable {
        public var x1: Float, y1: Float, x2: Float, y2: Float
        public var classIndex: Int
        public init(x1: Float, y1: Float, x2: Float, y2: Float, classIndex: Int) {
            self.x1 = x1; self.y1 = y1; self.x2 = x2; self.y2 = y2; self.classIndex = classIndex
        }

        /// A dataset's box, in pixels.
        public init(_ box: LabeledBox) {
            self.init(x1: Float(box.xmin), y1: Float(box.ymin), x2: Float(box.xmax), y2: Float(box.ymax), classIndex: box.category)
        }
    }

    /// A foreground anchor, its ground truth, and the IoU of its prediction with it.
    public struct Match: Sendable, Equatable {
        public var anchor: Int
        public var truth: Int
        public var iou: Float
    }

    /// The anchor centres of a YOLOX grid (cell centres at (x + 0.5)·s).
    public static func anchors(height: Int, width: Int, strides: [Int]) -> [Anchor] {
        YOLOXDecoder.grid(height: height, width: width, strides: strides).map { c in
            Anchor(x: (Float(c.x) + 0.5) * Float(c.stride), y: (Float(c.y) + 0.5) * Float(c.stride), stride: Float(c.stride))
        }
    }

    /// `boxes`: predicted xyxy per anchor; `objectness`: σ(obj) per anchor; `classProbabilities`:
    /// σ(cls), anchors × classes.
    public func assign(anchors: [Anchor], boxes: [Detection], objectness: [Float], classProbabilities: [Float], classes: Int,
                       truths: [Truth]) -> [Match] {
        guard !truths.isEmpty else { return [] }
        let g = truths.count
        var inBox = [[Bool]](repeating: [Bool](repeating: false, count: anchors.count), count: g)
        var inCenter = inBox
        var candidate = [Bool](repeating: false, count: anchors.count)
        for (t, truth) in truths.enumerated() {
            let cx = (truth.x1 + truth.x2) / 2, cy = (truth.y1 + truth.y2) / 2
            for (a, anchor) in anchors.enumerated() {
                let box = anchor.x > truth.x1 && anchor.x < truth.x2 && anchor.y > truth.y1 && anchor.y < truth.y2
                let r = centerRadius * anchor.stride
                let centre = anchor.x > cx - r && anchor.x < cx + r && anchor.y > cy - r && anchor.y < cy + r
                inBox[t][a] = box
                inCenter[t][a] = centre
                if box || centre { candidate[a] = true }
            }
        }
        let candidates = anchors.indices.filter { candidate[$0] }
        guard !candidates.isEmpty else { return [] }
        // Pairwise IoU and cost over the candidates.
        var iou = [[Float]](repeating: [Float](repeating: 0, count: candidates.count), count: g)
        var cost = iou
        for (t, truth) in truths.enumerated() {
            let gt = Detection(x1: truth.x1, y1: truth.y1, x2: truth.x2, y2: truth.y2, score: 1, classIndex: truth.classIndex)
            for (j, a) in candidates.enumerated() {
                let overlap = boxes[a].iou(gt)
                iou[t][j] = overlap
                var classCost: Float = 0
                for c in 0..<classes {
                    let p = (classProbabilities[a * classes + c] * objectness[a]).squareRoot()
                    // torch's binary_cross_entropy clamps each log at −100.
                    classCost -= c == truth.classIndex ? max(logf(p), -100) : max(logf(1 - p), -100)
                }
                cost[t][j] = classCost + iouWeight * -logf(overlap + 1e-8) + (inBox[t][a] && inCenter[t][a] ? 0 : 100_000)
            }
        }
        // Dynamic k per ground truth, then its k cheapest candidates.
        var owner = [Int](repeating: -1, count: candidates.count)
        for t in 0..<g {
            let top = iou[t].sorted(by: >).prefix(min(candidateTopK, candidates.count))
            let k = max(1, Int(top.reduce(0, +)))
            let cheapest = candidates.indices.sorted { cost[t][$0] < cost[t][$1] || (cost[t][$0] == cost[t][$1] && $0 < $1) }.prefix(k)
            for j in cheapest where owner[j] < 0 || cost[t][j] < cost[owner[j]][j] { owner[j] = t }
        }
        return candidates.indices.compactMap { j in
            owner[j] < 0 ? nil : Match(anchor: candidates[j], truth: owner[j], iou: iou[owner[j]][j])
        }
    }
}
