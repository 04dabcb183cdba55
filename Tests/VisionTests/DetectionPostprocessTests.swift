import XCTest
@testable import VisionModels

final class DetectionPostprocessTests: XCTestCase {
    func box(_ x1: Float, _ y1: Float, _ x2: Float, _ y2: Float, _ score: Float, _ c: Int) -> Detection {
        Detection(x1: x1, y1: y1, x2: x2, y2: y2, score: score, classIndex: c)
    }

    func testClassAwareAndAgnosticSuppression() {
        let candidates = [
            box(0, 0, 10, 10, 0.9, 0), box(1, 1, 11, 11, 0.8, 0),   // IoU 0.68 with the first: suppressed
            box(1, 1, 11, 11, 0.7, 1),                               // other class: kept when class-aware
            box(20, 20, 30, 30, 0.6, 0), box(0, 0, 10, 10, 0.005, 2), // below the score threshold
            box(5, 5, 5, 9, 0.95, 0),                                // zero area
        ]
        let aware = NonMaxSuppression(scoreThreshold: 0.01, iouThreshold: 0.5).apply(candidates)
        XCTAssertEqual(aware.map(\.score), [0.9, 0.7, 0.6])
        let agnostic = NonMaxSuppression(scoreThreshold: 0.01, iouThreshold: 0.5, classAgnostic: true).apply(candidates)
        XCTAssertEqual(agnostic.map(\.score), [0.9, 0.6])
        XCTAssertEqual(NonMaxSuppression(maxDetections: 1).apply(candidates).map(\.score), [0.9])
    }

    /// A hand-made prediction at one cell of stride 16 decodes to the right box, and maps back
    /// through a letterbox (scale 0.5, 16 px top padding) to the original image's pixels.
    func testDecoderGridMathAndLetterboxMapping() {
        let decoder = YOLOXDecoder(strides: [8, 16], classes: 3, nms: .init(scoreThreshold: 0.3))
        let (h, w) = (64, 64)
        let cells = decoder.grid(height: h, width: w)
        XCTAssertEqual(cells.count, 64 + 16)
        var raw = [Float](repeating: -10, count: cells.count * 8)
        // Cell (x 2, y 1) of stride 16 is index 64 + 1 * 4 + 2.
        let i = 64 + 4 + 2
        raw[i * 8 + 0] = 0.5; raw[i * 8 + 1] = 0.25                  // centre (40, 20)
        raw[i * 8 + 2] = log(2); raw[i * 8 + 3] = log(1)              // 32 × 16
        raw[i * 8 + 4] = 10; raw[i * 8 + 5 + 1] = 10                  // confident, class 1
        let found = raw.withUnsafeBufferPointer {
            decoder.decode($0.baseAddress!, height: h, width: w, letterbox: (scale: 0.5, padX: 0, padY: 16), imageWidth: 128, imageHeight: 64)
        }
        XCTAssertEqual(found.count, 1)
        let d = found[0]
        XCTAssertEqual(d.classIndex, 1)
        // Input box (24, 12, 56, 28) → original ((24 − 0)/0.5, (12 − 16)/0.5 → clipped 0, 112, 24).
        XCTAssertEqual(d.x1, 48, accuracy: 1e-3)
        XCTAssertEqual(d.y1, 0, accuracy: 1e-3)
        XCTAssertEqual(d.x2, 112, accuracy: 1e-3)
        XCTAssertEqual(d.y2, 24, accuracy: 1e-3)
        XCTAssertGreaterThan(d.score, 0.99)
    }
}
