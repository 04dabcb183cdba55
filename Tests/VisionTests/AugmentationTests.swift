import XCTest
@testable import Tensors
@testable import VisionData
@testable import VisionModels

final class AugmentationTests: XCTestCase {
    /// A black image with one white rectangle exactly under `box`.
    func marked(width: Int, height: Int, box: LabeledBox) -> PixelImage {
        var image = PixelImage(width: width, height: height, channels: 3)
        for y in Int(box.ymin)..<Int(box.ymax) { for x in Int(box.xmin)..<Int(box.xmax) { for c in 0..<3 { image[x, y, c] = 255 } } }
        return image
    }

    /// Bounding box of pixels brighter than mid-grey.
    func brightExtent(_ image: PixelImage) -> (Int, Int, Int, Int)? {
        var x0 = Int.max, y0 = Int.max, x1 = -1, y1 = -1
        for y in 0..<image.height { for x in 0..<image.width where image[x, y, 0] > 127 {
            x0 = min(x0, x); y0 = min(y0, y); x1 = max(x1, x + 1); y1 = max(y1, y + 1)
        } }
        return x1 < 0 ? nil : (x0, y0, x1, y1)
    }

    func testBoxesStayInRegisterWithThePixelsUnderEveryGeometry() {
        let box = LabeledBox(xmin: 20, ymin: 12, xmax: 44, ymax: 40, category: 1)
        let image = marked(width: 64, height: 48, box: box)
        let aug = Augmentation(padCrop: 3, horizontalFlip: true, resizedCrop: .init(scale: 0.5...1, ratio: 0.8...1.25),
                               affine: .init(scale: 0.8...1.2, translate: 0.1))
        var checked = 0
        for seed in 0..<40 {
            var rng = RandomState(seed: UInt64(seed))
            let (out, boxes) = aug.transform(image, boxes: [box], outWidth: 56, outHeight: 40, fill: 0, minVisible: 0.01, rng: &rng)
            XCTAssertEqual(out.width, 56)
            guard let b = boxes.first, let e = brightExtent(out) else { continue }
            XCTAssertEqual(Double(e.0), b.xmin, accuracy: 1.5, "seed \(seed)")
            XCTAssertEqual(Double(e.1), b.ymin, accuracy: 1.5, "seed \(seed)")
            XCTAssertEqual(Double(e.2), b.xmax, accuracy: 1.5, "seed \(seed)")
            XCTAssertEqual(Double(e.3), b.ymax, accuracy: 1.5, "seed \(seed)")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 30)
    }

    func testClipDropsBoxesMostlyOutside() {
        let boxes = [LabeledBox(xmin: -30, ymin: 0, xmax: 10, ymax: 10, category: 0),   // 25% visible
                     LabeledBox(xmin: -5, ymin: 2, xmax: 15, ymax: 12, category: 1),     // 75% visible
                     LabeledBox(xmin: 19, ymin: 0, xmax: 40, ymax: 10, category: 2)]     // 1 px wide inside
        let kept = Augmentation.clip(boxes, width: 20, height: 20, minVisible: 0.3)
        XCTAssertEqual(kept, [LabeledBox(xmin: 0, ymin: 2, xmax: 15, ymax: 12, category: 1)])
    }

    func testColourJitter() {
        var gray = PixelImage(width: 2, height: 1, channels: 1, pixels: [100, 200])
        Augmentation.jitter(&gray, brightness: 1.2, contrast: 1, saturation: 1)
        XCTAssertEqual(gray.pixels, [120, 240])
        var flat = PixelImage(width: 2, height: 1, channels: 1, pixels: [100, 200])
        Augmentation.jitter(&flat, brightness: 1, contrast: 0, saturation: 1)
        XCTAssertEqual(flat.pixels, [150, 150])
        var rgb = PixelImage(width: 1, height: 1, channels: 3, pixels: [200, 100, 0])
        Augmentation.jitter(&rgb, brightness: 1, contrast: 1, saturation: 0)
        XCTAssertEqual(Set(rgb.pixels).count, 1)
    }

    func testMosaicTilesFourImagesWithTheirBoxes() {
        let colours: [UInt8] = [40, 90, 160, 220]
        let tiles = colours.enumerated().map { i, v in
            (PixelImage(width: 30 + 10 * i, height: 20 + 5 * i, channels: 1, fill: v),
             [LabeledBox(xmin: 0, ymin: 0, xmax: Double(30 + 10 * i), ymax: Double(20 + 5 * i), category: i)])
        }
        for seed in 0..<10 {
            var rng = RandomState(seed: UInt64(seed))
            let (canvas, boxes) = Mosaic.combine(tiles, size: 64, rng: &rng)
            XCTAssertEqual(canvas.width, 64)
            XCTAssertEqual(Set(boxes.map(\.category)), [0, 1, 2, 3], "seed \(seed)")
            for b in boxes {
                XCTAssertGreaterThanOrEqual(b.xmin, 0); XCTAssertLessThanOrEqual(b.xmax, 64)
                // The middle of each box shows its tile's colour.
                let v = canvas[Int((b.xmin + b.xmax) / 2), Int((b.ymin + b.ymax) / 2), 0]
                XCTAssertEqual(Int(v), Int(colours[b.category]), accuracy: 1, "seed \(seed) box \(b)")
            }
        }
    }

    func testLoaderGeneralPathIsDeterministicAndConfigParses() throws {
        var rng = RandomState(seed: 2)
        let n = 8
        let data = ClassificationSet(pixels: (0..<(n * 3 * 16 * 16)).map { _ in UInt8(rng.nextInt(256)) }, labels: (0..<n).map { Int32($0 % 2) },
                                     count: n, channels: 3, height: 16, width: 16, classNames: ["a", "b"])
        let aug = Augmentation(resizedCrop: .init(), colorJitter: .init())
        func batch(_ a: Augmentation) throws -> [Float] {
            let loader = try BatchLoader(data: data, batchSize: 8, shuffle: false, augmentation: a, mean: [0, 0, 0], std: [1, 1, 1], seed: 4)
            return Array(loader.epoch(1)).first!.images.scalars
        }
        XCTAssertEqual(try batch(aug), try batch(aug))
        XCTAssertNotEqual(try batch(aug), try batch(.none))

        let c = try ExperimentConfig.load(path: ConfigTests.shipped, overrides: [
            "data.augment={random_resized_crop: {scale: [0.5, 1]}, random_affine: {translate: 0.2}, color_jitter: {brightness: 0.3}}",
        ])
        XCTAssertEqual(c.augmentation.resizedCrop, .init(scale: 0.5...1))
        XCTAssertEqual(c.augmentation.affine, .init(scale: 0.9...1.1, translate: 0.2))
        XCTAssertEqual(c.augmentation.colorJitter, .init(brightness: 0.3))
        XCTAssertThrowsError(try ExperimentConfig.load(path: ConfigTests.shipped, overrides: ["data.augment.random_resized_crop={scale: [1, 0.5]}"])) {
            XCTAssertEqual("\($0)", "data.augment.random_resized_crop.scale: expected [low, high] with low ≤ high, got [1.0, 0.5]")
        }
    }
}
