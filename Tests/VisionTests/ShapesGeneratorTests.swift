import Foundation
import XCTest
@testable import VisionData

final class ShapesGeneratorTests: XCTestCase {
    func testDeterministicBySeedWithEveryClassAndBoxesInside() throws {
        let generator = ShapesGenerator(size: 96)
        let a = generator.sample(seed: 4, index: 17), b = generator.sample(seed: 4, index: 17)
        XCTAssertEqual(a.image, b.image)
        XCTAssertEqual(a.boxes, b.boxes)
        XCTAssertNotEqual(generator.sample(seed: 5, index: 17).image, a.image)
        var perClass = [Int](repeating: 0, count: ShapesGenerator.classNames.count)
        for i in 0..<60 {
            let (image, boxes) = generator.sample(seed: 1, index: i)
            XCTAssertTrue((1...8).contains(boxes.count), "image \(i) has \(boxes.count) objects")
            for box in boxes {
                perClass[box.category] += 1
                XCTAssertTrue(box.xmin >= 0 && box.ymin >= 0 && box.xmax <= 96 && box.ymax <= 96 && box.width >= 3 && box.height >= 3)
            }
            XCTAssertEqual(image.channels, 3)
        }
        XCTAssertTrue(perClass.allSatisfy { $0 > 5 }, "every class appears: \(perClass)")
    }

    func testWrittenDatasetReadsBackWithoutProblems() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vf-shapes-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let dataset = ShapesGenerator(size: 64).dataset(count: 12, seed: 3, root: dir)
        try DatasetFormat.coco.write(dataset, to: dir)
        let read = try DatasetFormat.coco.read(dir, options: .init(verifyPixels: true))
        XCTAssertEqual(read.problems, [])
        XCTAssertEqual(read.dataset.images.count, 12)
        XCTAssertEqual(read.dataset.categories.map(\.name), ShapesGenerator.classNames)
        XCTAssertEqual(read.dataset.images.map(\.boxes), dataset.images.map(\.boxes))
        XCTAssertEqual(try read.dataset.pixels(of: read.dataset.images[5]), dataset.images[5].embedded)
    }
}
