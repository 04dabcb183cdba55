import Foundation
@testable import InferenceService
import Tensors
import VisionModels
import XCTest

/// A batch whose size has no compiled network runs as the cheapest ladder-sized pieces by the
/// warm-up's timings instead of padded up to the next size, and gives the same outputs.
final class BatchPiecesTests: XCTestCase {
    func testSparseLadderSplitsWhereSplittingBeatsPadding() {
        // Seconds per run as a large model shows them: 16 costs 10× one image, 4 about 2.4×.
        let pieces = BatchPieces(ladder: [1, 4, 16], seconds: [1: 5, 4: 12, 16: 50])
        XCTAssertEqual(pieces.pieces(8), [4, 4], "8 images: 24 against 50 padded to 16")
        XCTAssertEqual(pieces.pieces(5), [4, 1])
        XCTAssertEqual(pieces.pieces(7), [4, 4], "the last piece padded: 24 against 4 + 1 + 1 + 1 = 27")
        XCTAssertEqual(pieces.rows(7), 8)
        XCTAssertEqual(pieces.pieces(2), [1, 1], "10 against 12 padded to 4")
        XCTAssertEqual(pieces.pieces(3), [4], "15 in singles is not cheaper than 12 padded")
        XCTAssertEqual(pieces.pieces(4), [4])
        XCTAssertEqual(pieces.pieces(16), [16], "a size with its own network runs whole")
        XCTAssertEqual(pieces.pieces(40), [40], "past the ladder's top the plan runs chunks itself")
        XCTAssertEqual(pieces.splitSummary.hasPrefix("2=1+1 5=4+1"), true, pieces.splitSummary)
    }

    func testPadsWithoutTimingsOrWhenSplittingGainsLessThanTheMargin() {
        let untimed = BatchPieces(ladder: [1, 4, 16])
        XCTAssertEqual(untimed.pieces(8), [16])
        XCTAssertEqual(untimed.rows(8), 16)
        XCTAssertEqual(untimed.pieces(3), [4])
        XCTAssertEqual(untimed.splitSummary, "none")
        // 4 + 4 = 22 against 22 padded: not worth a second run.
        let flat = BatchPieces(ladder: [1, 4, 16], seconds: [1: 10, 4: 11, 16: 22])
        XCTAssertEqual(flat.pieces(8), [16])
        let partly = BatchPieces(ladder: [1, 4, 16], seconds: [1: 10, 4: 11])
        XCTAssertEqual(partly.pieces(8), [16], "a size without a timing: padding")
    }

    func testDenseLadderRunsEveryBatchWhole() {
        // Timings that would favour pieces (a slow 16) never split a size that has a network.
        var seconds: [Int: Double] = [:]
        for n in 1...16 { seconds[n] = Double(n) }
        seconds[16] = 100
        let pieces = BatchPieces(ladder: Array(1...16), seconds: seconds)
        for n in 1...16 { XCTAssertEqual(pieces.pieces(n), [n]) }
    }

    func testSplitBatchGivesEachImagesOwnOutputs() throws {
        let package = try ModelPackage.read(from: ServePackages.classifier())
        let runtime = try ModelRuntime(package, threads: 2)
        runtime.pieces = BatchPieces(ladder: [1, 4, 16], seconds: [1: 5, 4: 12, 16: 50])
        let width = runtime.inputShape.reduce(1, *), out = runtime.outputWidth
        var rng = RandomState(seed: 7)
        for n in [7, 8, 2] {
            XCTAssertGreaterThan(runtime.pieces.pieces(n).count, 1)
            let input = Tensor(uniform: [runtime.paddedSize(n)] + runtime.inputShape, low: -1, high: 1, rng: &rng)
            var batched = [Float](repeating: .nan, count: n * out)
            try batched.withUnsafeMutableBufferPointer { try runtime.execute(input, count: n, into: $0.baseAddress!) }
            for i in 0..<n {
                let one = Tensor(uninitialized: [1] + runtime.inputShape)
                one.pointer.update(from: input.pointer + i * width, count: width)
                var alone = [Float](repeating: .nan, count: out)
                try alone.withUnsafeMutableBufferPointer { try runtime.execute(one, count: 1, into: $0.baseAddress!) }
                for k in 0..<out {
                    XCTAssertEqual(batched[i * out + k], alone[k], accuracy: 1e-4, "batch of \(n), image \(i), output \(k)")
                }
            }
        }
    }

    func testWarmUpTimesEveryLadderSize() throws {
        let package = try ModelPackage.read(from: ServePackages.classifier())
        let runtime = try ModelRuntime(package, threads: 2)
        try runtime.warmUp(batchSizes: runtime.warmSizes(maxBatch: 16), timedRuns: 1)
        XCTAssertEqual(Set(runtime.pieces.seconds.keys), Set(runtime.ladder))
        XCTAssertTrue(runtime.pieces.seconds.values.allSatisfy { $0 > 0 })
        for n in runtime.ladder { XCTAssertEqual(runtime.pieces.pieces(n), [n]) }
    }
}
