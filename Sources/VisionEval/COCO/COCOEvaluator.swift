/// Box AP/AR with pycocotools' conventions exactly (COCOeval, iouType "bbox"): IoU thresholds
/// .50:.05:.95, 101 recall points, area ranges all / small (< 32²) / medium / large (> 96²),
/// maxDets 1 / 10 / 100, crowd regions matched by intersection over detection area and
/// ignored, per-image detections sorted by score and capped, precision made monotone, and
/// categories without (non-ignored) ground truth left out of the means.
public struct COCOEvaluator {
    public struct Stats: Sendable, Equatable {
        public var ap, ap50, ap75, apSmall, apMedium, apLarge: Double
        public var ar1, ar10, ar100, arSmall, arMedium, arLarge: Double
        /// AP@[.50:.95] per category id (-1 where the category has no ground truth).
        public var perCategoryAP: [Int: Double]

        /// The twelve numbers in pycocotools' order.
        public var all: [Double] { [ap, ap50, ap75, apSmall, apMedium, apLarge, ar1, ar10, ar100, arSmall, arMedium, arLarge] }
        public static let keys = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]
    }

    static let iouThresholds: [Double] = {
        let step = (0.95 - 0.5) / 9
        var t = (0..<10).map { Double($0) * step + 0.5 }
        t[9] = 0.95
        return t
    }()
    static let recallThresholds: [Double] = (0...100).map { Double($0) * 0.01 }
    static let maxDets = [1, 10, 100]
    static let areaRanges: [(Double, Double)] = [(0, 1e10), (0, 32 * 32), (32 * 32, 96 * 96), (96 * 96, 1e10)]

    public let groundTruth: COCOGroundTruth

    public init(groundTruth: COCOGroundTruth) { self.groundTruth = groundTruth }

    /// One image × category at one area range.
    struct ImageResult {
        var scores: [Double]          // sorted, capped at 100
        var matched: [[Bool]]         // [threshold][detection]
        var detectionIgnored: [[Bool]]
        var gtIgnored: [Bool]
    }

    public func evaluate(_ detections: [COCODetection]) -> Stats {
        let imageIds = Array(Set(groundTruth.imageIds)).sorted()
        let catIds = Array(Set(groundTruth.categories.map(\.id))).sorted()
        struct Key: Hashable { let image: Int, cat: Int }
        var gts: [Key: [COCOGroundTruth.Annotation]] = [:]
        for a in groundTruth.annotations { gts[Key(image: a.imageId, cat: a.categoryId), default: []].append(a) }
        var dts: [Key: [(id: Int, d: COCODetection)]] = [:]
        for (i, d) in detections.enumerated() { dts[Key(image: d.imageId, cat: d.categoryId), default: []].append((i + 1, d)) }

        let T = Self.iouThresholds.count, R = Self.recallThresholds.count, K = catIds.count, A = Self.areaRanges.count
        let M = Self.maxDets.count
        var precision = [Double](repeating: -1, count: T * R * K * A * M)
        var recall = [Double](repeating: -1, count: T * K * A * M)
        func pIndex(_ t: Int, _ r: Int, _ k: Int, _ a: Int, _ m: Int) -> Int { (((t * R + r) * K + k) * A + a) * M + m }
        func rIndex(_ t: Int, _ k: Int, _ a: Int, _ m: Int) -> Int { ((t * K + k) * A + a) * M + m }

        for (k, cat) in catIds.enumerated() {
            // Per image: detections sorted by score (stable) and capped; IoU against every gt.
            var perImage: [(gt: [COCOGroundTruth.Annotation], dt: [(id: Int, d: COCODetection)], ious: [[Double]])] = []
            for image in imageIds {
                let key = Key(image: image, cat: cat)
                let gt = gts[key] ?? []
                let dt = Array(stableSortByScore(dts[key] ?? []).prefix(Self.maxDets.last!))
                perImage.append((gt, dt, dt.map { d in gt.map { Self.iou(d.d.bbox, $0.bbox, crowd: $0.isCrowd) } }))
            }
            for (a, range) in Self.areaRanges.enumerated() {
                let results = perImage.compactMap { evaluateImage($0.gt, $0.dt, $0.ious, range: range) }
                for (m, maxDet) in Self.maxDets.enumerated() {
                    var scores: [Double] = [], matched: [[Bool]] = Array(repeating: [], count: T)
                    var ignored: [[Bool]] = Array(repeating: [], count: T)
                    var positives = 0
                    for r in results {
                        let n = min(maxDet, r.scores.count)
                        scores += r.scores[..<n]
                        for t in 0..<T {
                            matched[t] += r.matched[t][..<n]
                            ignored[t] += r.detectionIgnored[t][..<n]
                        }
                        positives += r.gtIgnored.filter { !$0 }.count
                    }
                    guard positives > 0 else { continue }
                    let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
                    for t in 0..<T {
                        var tp = 0.0, fp = 0.0
                        var rc: [Double] = [], pr: [Double] = []
                        rc.reserveCapacity(order.count); pr.reserveCapacity(order.count)
                        for i in order where !ignored[t][i] {
                            if matched[t][i] { tp += 1 } else { fp += 1 }
                            rc.append(tp / Double(positives))
                            pr.append(tp / (fp + tp + Double.ulpOfOne))
                        }
                        recall[rIndex(t, k, a, m)] = rc.last ?? 0
                        if pr.count > 1 { for i in stride(from: pr.count - 1, to: 0, by: -1) where pr[i] > pr[i - 1] { pr[i - 1] = pr[i] } }
                        for (ri, threshold) in Self.recallThresholds.enumerated() {
                            // searchsorted(rc, threshold, side: left)
                            var lo = 0, hi = rc.count
                            while lo < hi { let mid = (lo + hi) / 2; if rc[mid] < threshold { lo = mid + 1 } else { hi = mid } }
                            if lo >= pr.count { break }  // pycocotools stops at the first index past the end
                            precision[pIndex(t, ri, k, a, m)] = pr[lo]
                        }
                        // Recall thresholds past the end keep precision 0 (not -1).
                        for ri in 0..<R where precision[pIndex(t, ri, k, a, m)] < 0 { precision[pIndex(t, ri, k, a, m)] = 0 }
                    }
                }
            }
        }

        func meanOf(_ values: [Double]) -> Double {
            let kept = values.filter { $0 > -1 }
            return kept.isEmpty ? -1 : kept.reduce(0, +) / Double(kept.count)
        }
        func ap(threshold: Int? = nil, area: Int = 0, maxDet: Int = 2, category: Int? = nil) -> Double {
            var values: [Double] = []
            for t in 0..<T where threshold == nil || threshold == t {
                for r in 0..<R { for k in 0..<K where category == nil || category == k { values.append(precision[pIndex(t, r, k, area, maxDet)]) } }
            }
            return meanOf(values)
        }
        func ar(area: Int = 0, maxDet: Int) -> Double {
            var values: [Double] = []
            for t in 0..<T { for k in 0..<K { values.append(recall[rIndex(t, k, area, maxDet)]) } }
            return meanOf(values)
        }
        var perCategory: [Int: Double] = [:]
        for (k, cat) in catIds.enumerated() { perCategory[cat] = ap(category: k) }
        return Stats(ap: ap(), ap50: ap(threshold: 0), ap75: ap(threshold: 5), apSmall: ap(area: 1), apMedium: ap(area: 2),
                     apLarge: ap(area: 3), ar1: ar(maxDet: 0), ar10: ar(maxDet: 1), ar100: ar(maxDet: 2), arSmall: ar(area: 1, maxDet: 2),
                     arMedium: ar(area: 2, maxDet: 2), arLarge: ar(area: 3, maxDet: 2), perCategoryAP: perCategory)
    }

    /// pycocotools' evaluateImg for one image, category and area range (maxDet 100).
    func evaluateImage(_ gtIn: [COCOGroundTruth.Annotation], _ dt: [(id: Int, d: COCODetection)], _ iousIn: [[Double]],
                       range: (Double, Double)) -> ImageResult? {
        if gtIn.isEmpty && dt.isEmpty { return nil }
        let outside = gtIn.map { $0.isCrowd || $0.area < range.0 || $0.area > range.1 }
        // Ignored ground truth last (stable).
        let order = gtIn.indices.filter { !outside[$0] } + gtIn.indices.filter { outside[$0] }
        let gt = order.map { gtIn[$0] }
        let gtIgnored = order.map { outside[$0] }
        let ious = iousIn.map { row in order.map { row[$0] } }
        let T = Self.iouThresholds.count
        var gtMatched = Array(repeating: [Bool](repeating: false, count: gt.count), count: T)
        var matched = Array(repeating: [Bool](repeating: false, count: dt.count), count: T)
        var detectionIgnored = matched
        if !gt.isEmpty && !dt.isEmpty {
            for (t, threshold) in Self.iouThresholds.enumerated() {
                for d in dt.indices {
                    var best = min(threshold, 1 - 1e-10)
                    var m = -1
                    for g in gt.indices {
                        if gtMatched[t][g] && !gt[g].isCrowd { continue }
                        if m > -1 && !gtIgnored[m] && gtIgnored[g] { break }
                        if ious[d][g] < best { continue }
                        best = ious[d][g]
                        m = g
                    }
                    guard m > -1 else { continue }
                    detectionIgnored[t][d] = gtIgnored[m]
                    // pycocotools records the gt id; an id of 0 reads as "unmatched" there too.
                    matched[t][d] = gt[m].id != 0
                    gtMatched[t][m] = true
                }
            }
        }
        for (d, det) in dt.enumerated() {
            let area = det.d.bbox[2] * det.d.bbox[3]
            if area < range.0 || area > range.1 {
                for t in 0..<T where !matched[t][d] { detectionIgnored[t][d] = true }
            }
        }
        return ImageResult(scores: dt.map(\.d.score), matched: matched, detectionIgnored: detectionIgnored, gtIgnored: gtIgnored)
    }

    /// Detections by descending score, ties in input order (numpy's mergesort).
    func stableSortByScore(_ list: [(id: Int, d: COCODetection)]) -> [(id: Int, d: COCODetection)] {
        list.enumerated().sorted { a, b in
            a.element.d.score > b.element.d.score || (a.element.d.score == b.element.d.score && a.offset < b.offset)
        }.map(\.element)
    }

    /// maskApi's bbIou: intersection over union, or over the detection's area for crowd gt.
    static func iou(_ d: [Double], _ g: [Double], crowd: Bool) -> Double {
        let w = min(d[2] + d[0], g[2] + g[0]) - max(d[0], g[0])
        guard w > 0 else { return 0 }
        let h = min(d[3] + d[1], g[3] + g[1]) - max(d[1], g[1])
        guard h > 0 else { return 0 }
        let i = w * h, da = d[2] * d[3], ga = g[2] * g[3]
        return i / (crowd ? da : da + ga - i)
    }
}
