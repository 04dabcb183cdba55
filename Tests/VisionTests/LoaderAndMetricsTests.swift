import XCTest
@testable import Tensors
@testable import VisionData
@testable import VisionEval

final class LoaderAndMetricsTests: XCTestCase {
    func tinySet(_ n: Int) -> ClassificationSet {
        ClassificationSet(pixels: (0..<(n * 4)).map { UInt8($0 % 256) }, labels: (0..<n).map { Int32($0 % 3) }, count: n,
                          channels: 1, height: 2, width: 2, classNames: ["a", "b", "c"])
    }

    func testOrderIsSeededPerEpochAndBatchesCoverEverything() throws {
        let loader = try BatchLoader(data: tinySet(10), batchSize: 4, shuffle: true, mean: [0], std: [1], seed: 7)
        XCTAssertEqual(loader.order(epoch: 0), loader.order(epoch: 0))
        XCTAssertNotEqual(loader.order(epoch: 0), loader.order(epoch: 1))
        XCTAssertEqual(Set(loader.order(epoch: 3)), Set(0..<10))
        let batches = Array(loader.epoch(0))
        XCTAssertEqual(batches.map(\.labels.count), [4, 4, 2])
        XCTAssertEqual(batches.flatMap(\.labels), loader.order(epoch: 0).map { Int32($0 % 3) })
        // Normalisation: pixel/255 with mean 0, std 1.
        let first = loader.order(epoch: 0)[0]
        XCTAssertEqual(batches[0].images[0], Float(first * 4 % 256) / 255, accuracy: 1e-6)
        // Dropping the sequence early stops the worker cleanly.
        let partial = loader.epoch(1).makeIterator()
        _ = partial.next()
    }

    func testFlipAndPadCrop() throws {
        let set = ClassificationSet(pixels: [10, 20, 30, 40], labels: [0], count: 1, channels: 1, height: 2, width: 2, classNames: ["a"])
        var rng = RandomState(seed: 1)
        var sawFlip = false, sawPlain = false
        for _ in 0..<20 {
            var out = [Float](repeating: 0, count: 4)
            set.pixels.withUnsafeBufferPointer { p in
                Augmentation(horizontalFlip: true).apply(p.baseAddress!, into: &out, channels: 1, height: 2, width: 2,
                                                        scale: [1], shift: [0], rng: &rng)
            }
            if out == [20, 10, 40, 30] { sawFlip = true } else if out == [10, 20, 30, 40] { sawPlain = true } else { XCTFail("\(out)") }
        }
        XCTAssertTrue(sawFlip && sawPlain)
        var out = [Float](repeating: -1, count: 4)
        set.pixels.withUnsafeBufferPointer { p in
            Augmentation(padCrop: 1).apply(p.baseAddress!, into: &out, channels: 1, height: 2, width: 2, scale: [1], shift: [0], rng: &rng)
        }
        // Every value is an original pixel or padding (0).
        XCTAssertTrue(out.allSatisfy { [0, 10, 20, 30, 40].contains($0) }, "\(out)")
        XCTAssertThrowsError(try BatchLoader(data: set, batchSize: 0, shuffle: false, mean: [0], std: [1], seed: 0))
        XCTAssertThrowsError(try BatchLoader(data: set, batchSize: 1, shuffle: false, mean: [0, 0], std: [1, 1], seed: 0))
    }

    func testClassificationMetrics() {
        var m = ClassificationMetrics(classes: 3)
        let scores: [Float] = [0.9, 0.05, 0.05,   // truth 0 → 0
                               0.1, 0.2, 0.7,     // truth 1 → 2 (1 is second: top-5 hit)
                               0.2, 0.3, 0.5]     // truth 2 → 2
        scores.withUnsafeBufferPointer { m.add(scores: $0.baseAddress!, labels: [0, 1, 2]) }
        XCTAssertEqual(m.top1, 2.0 / 3, accuracy: 1e-9)
        XCTAssertEqual(m.top5, 1)
        XCTAssertEqual(m.perClassAccuracy, [1, 0, 1])
        XCTAssertEqual(m.confusion, [[1, 0, 0], [0, 0, 1], [0, 0, 1]])
    }
}
