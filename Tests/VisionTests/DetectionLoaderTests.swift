import Foundation
import XCTest
@testable import Tensors
@testable import VisionData

final class DetectionLoaderTests: XCTestCase {
    /// Images of two white rectangles on black (one towards each corner), with their boxes;
    /// category ids 1 and 2.
    func markedSet(count: Int, width: Int = 64, height: Int = 64) -> DetectionSet {
        var images: [DatasetImage] = []
        for i in 0..<count {
            let x0 = 3 + (i * 7) % 12, y0 = 2 + (i * 5) % 12, w = 10 + i % 9, h = 8 + (i * 3) % 9
            var image = PixelImage(width: width, height: height, channels: 3)
            var boxes: [LabeledBox] = []
            for (bx, by) in [(x0, y0), (width - x0 - w, height - y0 - h)] {
                for y in by..<(by + h) { for x in bx..<(bx + w) { for c in 0..<3 { image[x, y, c] = 255 } } }
                boxes.append(LabeledBox(xmin: Double(bx), ymin: Double(by), xmax: Double(bx + w), ymax: Double(by + h), category: 1 + i % 2))
            }
            images.append(DatasetImage(id: i + 1, file: "m\(i).png", width: width, height: height, boxes: boxes, embedded: image))
        }
        return DetectionSet(dataset: LabeledDataset(root: URL(fileURLWithPath: "/nonexistent"),
                                                    categories: [.init(id: 1, name: "a"), .init(id: 2, name: "b")], images: images))
    }

    /// The planar channel-0 plane of slot `slot` back as bytes (mean 0, std 1 ⇒ value·255).
    func plane(_ batch: DetectionBatch, _ slot: Int, _ w: Int, _ h: Int) -> [Float] {
        let n = w * h
        return (0..<n).map { batch.images.pointer[slot * 3 * n + $0] * 255 }
    }

    /// Every box of every augmented sample (mosaic, affine, flip) covers exactly the bright
    /// pixels of its object: the image and its boxes move together.
    func testMosaicAffineFlipKeepBoxesInRegister() throws {
        for mosaic in [0.0, 1.0] {
        var aug = Augmentation(horizontalFlip: true, affine: .init(scale: 0.8...1.2, translate: 0.1))
        aug.mosaic = mosaic
        let set = markedSet(count: 12)
        let loader = try DetectionLoader(data: set, batchSize: 4, channels: 3, height: 64, width: 64, augmentation: aug,
                                         mean: [0, 0, 0], std: [1, 1, 1], shuffle: true, seed: 3)
        var checked = 0
        for result in loader.epoch(0) {
            let batch = try result.get()
            for slot in 0..<batch.items.count {
                let pixels = plane(batch, slot, 64, 64)
                for b in batch.boxes[slot] {
                    // Inside the box (1.5 px in from the edges) is white; just outside is not.
                    let cx = Int((b.xmin + b.xmax) / 2), cy = Int((b.ymin + b.ymax) / 2)
                    XCTAssertGreaterThan(pixels[cy * 64 + cx], 200, "centre of \(b)")
                    for (x, y) in [(Int(b.xmin + 1.5), cy), (Int(b.xmax - 1.5), cy), (cx, Int(b.ymin + 1.5)), (cx, Int(b.ymax - 1.5))] {
                        XCTAssertGreaterThan(pixels[y * 64 + x], 100, "inside edge of \(b) at \(x),\(y)")
                    }
                    for (x, y) in [(Int(b.xmin - 2), cy), (Int(b.xmax + 1.5), cy), (cx, Int(b.ymin - 2)), (cx, Int(b.ymax + 1.5))]
                        where x >= 0 && y >= 0 && x < 64 && y < 64 {
                        // Another object may touch from outside only in a mosaic; the fill is 114.
                        if mosaic == 0 { XCTAssertLessThan(pixels[y * 64 + x], 150, "outside \(b) at \(x),\(y)") }
                    }
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThan(checked, 16, "mosaic \(mosaic)")
        }
    }

    func testBatchesIndependentOfWorkerCountAndPlainWithoutAugmentation() throws {
        var aug = Augmentation(horizontalFlip: true, affine: .init(), colorJitter: .init())
        aug.mosaic = 1
        let set = markedSet(count: 10)
        func batches(_ workers: Int, augment: Bool) throws -> [DetectionBatch] {
            let loader = try DetectionLoader(data: set, batchSize: 3, channels: 3, height: 64, width: 64, augmentation: aug,
                                             mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], shuffle: true, seed: 9, workers: workers)
            return try loader.epoch(2, augment: augment).map { try $0.get() }
        }
        let one = try batches(1, augment: true), three = try batches(3, augment: true)
        XCTAssertEqual(one.count, 3)
        for (a, b) in zip(one, three) {
            XCTAssertEqual(a.images.scalars, b.images.scalars)
            XCTAssertEqual(a.boxes, b.boxes)
        }
        // Without augmentation a 64×64 image passes unchanged with its boxes.
        for batch in try batches(2, augment: false) {
            for (slot, item) in batch.items.enumerated() {
                XCTAssertEqual(batch.boxes[slot], set.boxes(item))
                XCTAssertEqual(batch.letterboxes[slot], ImageOps.Letterbox(scale: 1, padX: 0, padY: 0))
            }
        }
    }

    func testLetterboxMapsNonSquareImagesAndUndoes() throws {
        let set = markedSet(count: 2, width: 64, height: 32)
        let loader = try DetectionLoader(data: set, batchSize: 2, channels: 1, height: 64, width: 64, mean: [0], std: [1],
                                         shuffle: false, seed: 0)
        let batch = try XCTUnwrap(loader.epoch(0, augment: false).next()).get()
        XCTAssertEqual(batch.letterboxes[0], ImageOps.Letterbox(scale: 1, padX: 0, padY: 16))
        let original = set.boxes(0)[0]
        XCTAssertEqual(batch.boxes[0][0].ymin, original.ymin + 16)
        XCTAssertEqual(batch.images.shape, [2, 1, 64, 64])
        // The padding rows carry the fill (114).
        XCTAssertEqual(batch.images.pointer[0] * 255, 114, accuracy: 0.01)
    }

    func testUnreadableImageFailsTheBatchNamingTheFile() throws {
        let images = [DatasetImage(id: 1, file: "missing.png", width: 32, height: 32, boxes: [])]
        let set = DetectionSet(dataset: LabeledDataset(root: URL(fileURLWithPath: "/nonexistent"), categories: [.init(id: 1, name: "a")], images: images))
        let loader = try DetectionLoader(data: set, batchSize: 1, channels: 3, height: 32, width: 32, mean: [0, 0, 0], std: [1, 1, 1],
                                         shuffle: false, seed: 0)
        XCTAssertThrowsError(try loader.epoch(0).next()!.get()) { XCTAssertTrue("\($0)".contains("missing.png"), "\($0)") }
        XCTAssertThrowsError(try DetectionLoader(data: set, batchSize: 1, channels: 4, height: 32, width: 32, mean: [0, 0, 0, 0],
                                                 std: [1, 1, 1, 1], shuffle: false, seed: 0))
    }
}
