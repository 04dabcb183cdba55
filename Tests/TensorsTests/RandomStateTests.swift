import XCTest
@testable import Tensors

final class RandomStateTests: XCTestCase {
    func testIntegersAreUniformAndInRange() {
        var rng = RandomState(seed: 42)
        var counts = [Int](repeating: 0, count: 5)
        for _ in 0..<50_000 {
            let v = rng.nextInt(5)
            XCTAssertTrue((0..<5).contains(v))
            counts[v] += 1
        }
        // Each bucket near 10,000 (a regression once returned 0 every time).
        for c in counts { XCTAssertEqual(Double(c), 10_000, accuracy: 500) }
    }

    func testFloatsAndGaussians() {
        var rng = RandomState(seed: 1)
        let floats = (0..<20_000).map { _ in rng.nextFloat() }
        XCTAssertTrue(floats.allSatisfy { $0 >= 0 && $0 < 1 })
        XCTAssertEqual(Double(floats.reduce(0, +)) / 20_000, 0.5, accuracy: 0.01)
        let normals = (0..<20_000).map { _ in rng.nextGaussian() }
        let mean = normals.reduce(0, +) / 20_000
        let variance = normals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 20_000
        XCTAssertEqual(Double(mean), 0, accuracy: 0.03)
        XCTAssertEqual(Double(variance), 1, accuracy: 0.05)
        var a = RandomState(seed: 9), b = RandomState(seed: 9)
        XCTAssertEqual((0..<10).map { _ in a.next() }, (0..<10).map { _ in b.next() })
    }
}
