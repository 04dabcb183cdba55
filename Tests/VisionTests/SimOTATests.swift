import XCTest
@testable import VisionModels

final class SimOTATests: XCTestCase {
    let anchors = SimOTAAssigner.anchors(height: 64, width: 64, strides: [8, 16, 32])

    func testAnchorsFollowTheGrid() {
        XCTAssertEqual(anchors.count, 64 + 16 + 4)
        XCTAssertEqual(anchors[0], .init(x: 4, y: 4, stride: 8))
        XCTAssertEqual(anchors[64 + 5], .init(x: 24, y: 24, stride: 16))
    }

    /// Predictions that hit a ground truth win it; the count per ground truth follows the
    /// dynamic k; every match lies in its box or centre region; no anchor is matched twice.
    func testAssignmentPicksGoodPredictionsWithDynamicK() {
        let truths = [SimOTAAssigner.Truth(x1: 8, y1: 8, x2: 40, y2: 40, classIndex: 0),
                      SimOTAAssigner.Truth(x1: 44, y1: 40, x2: 60, y2: 60, classIndex: 1)]
        // Every anchor predicts a small box near itself with low confidence…
        var boxes = anchors.map { Detection(x1: $0.x - 2, y1: $0.y - 2, x2: $0.x + 2, y2: $0.y + 2, score: 0, classIndex: 0) }
        var objectness = [Float](repeating: 0.05, count: anchors.count)
        var probabilities = [Float](repeating: 0.05, count: anchors.count * 2)
        // …except three stride-8 anchors inside the first box, which predict it exactly.
        let good = [2 * 8 + 2, 2 * 8 + 3, 3 * 8 + 3]   // centres (20, 20), (28, 20), (28, 28)
        for a in good {
            boxes[a] = Detection(x1: 8, y1: 8, x2: 40, y2: 40, score: 0, classIndex: 0)
            objectness[a] = 0.9
            probabilities[a * 2] = 0.9
        }
        let matches = SimOTAAssigner().assign(anchors: anchors, boxes: boxes, objectness: objectness, classProbabilities: probabilities,
                                              classes: 2, truths: truths)
        let first = matches.filter { $0.truth == 0 }, second = matches.filter { $0.truth == 1 }
        // Ten best IoUs of the first truth: three at 1.0 plus small ones → k = 3.
        XCTAssertEqual(Set(first.map(\.anchor)), Set(good))
        XCTAssertTrue(first.allSatisfy { $0.iou == 1 })
        XCTAssertEqual(second.count, 1, "k floors at one")
        XCTAssertEqual(Set(matches.map(\.anchor)).count, matches.count)
        for m in matches {
            let t = truths[m.truth], a = anchors[m.anchor]
            let cx = (t.x1 + t.x2) / 2, cy = (t.y1 + t.y2) / 2
            XCTAssertTrue((a.x > t.x1 && a.x < t.x2 && a.y > t.y1 && a.y < t.y2) || (abs(a.x - cx) < 2.5 * a.stride && abs(a.y - cy) < 2.5 * a.stride))
        }
        XCTAssertEqual(SimOTAAssigner().assign(anchors: anchors, boxes: boxes, objectness: objectness, classProbabilities: probabilities,
                                               classes: 2, truths: []), [])
    }
}
