import XCTest
@testable import Tensors

/// oneDNN's eltwise primitives against the engine's activation kernels, the reference:
/// forward and backward (from the input), over a count with a vector tail.
final class DNNLEltwiseTests: XCTestCase {
    func testPrimitivesMatchTheEngineKernels() throws {
        guard DNNLConvolution.enabled else { throw XCTSkip("oneDNN is off") }
        var rng = RandomState(seed: 9)
        let count = 4 * 1_000 + 13
        let x = (0..<count).map { _ in 10 * rng.nextFloat() - 5 }, dy = (0..<count).map { _ in 2 * rng.nextFloat() - 1 }
        for kind in [Activation.silu, .sigmoid, .gelu, .relu6, .leakyRelu] {
            let primitive = try XCTUnwrap(DNNLEltwise.shared(kind, count: count), "\(kind)")
            var y = [Float](repeating: 0, count: count), dx = y, oy = [Float](repeating: .nan, count: count), odx = oy
            kind.forward(&y, x, count: count)
            kind.backward(&dx, dy, x, count: count)
            XCTAssertTrue(primitive.forward(&oy, x), primitive.lastError ?? "")
            XCTAssertTrue(primitive.backward(&odx, dy, x), primitive.lastError ?? "")
            for (name, a, b) in [("y", oy, y), ("dx", odx, dx)] {
                let worst = zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? .nan
                XCTAssertLessThan(worst, 1e-5, "\(kind) \(name), \(primitive.implementations)")
            }
        }
    }
}
