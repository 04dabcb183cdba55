import XCTest
@testable import Tensors

/// oneDNN's max pooling on blocked values against the engine's `PoolingKernel` (the reference)
/// through the graph: SPP's stride-1 windows and a stride-2 one, outputs and input gradients
/// equal (values drawn without ties, so both route each gradient to the same element).
final class DNNLMaxPoolTests: XCTestCase {
    func testBlockedPoolingMatchesThePlainKernel() throws {
        guard DNNLMaxPool.enabled, BlockedLayout.block > 0 else { throw XCTSkip("oneDNN's blocked layout is not in use on this CPU") }
        let channels = BlockedLayout.block
        var rng = RandomState(seed: 17)
        let x = Tensor(uniform: [2, 3, 9, 9], low: -1, high: 1, rng: &rng)
        let w = Tensor(uniform: [channels, 3, 3, 3], low: -0.5, high: 0.5, rng: &rng)
        let probe = Tensor(uniform: [2 * channels * 81], low: -1, high: 1, rng: &rng)
        for (kernel, stride, padding) in [(5, 1, 2), (13, 1, 6), (3, 2, 1)] {
            func run(blocked: Bool) throws -> (y: [Float], dx: [Float], wasBlocked: Bool) {
                let graph = Graph()
                graph.useBlockedLayout = blocked
                let input = Variable(x.copy(), requiresGrad: true)
                let h = try graph.conv2d(input, weight: Variable(w.copy(), requiresGrad: false), bias: nil, padding: (1, 1))
                let y = try graph.maxPool2d(h, kernel: kernel, stride: stride, padding: padding)
                let weights = try Tensor(shape: y.shape, values: Array(probe.scalars.prefix(y.shape.reduce(1, *))))
                graph.backward(try graph.mul(y, Variable(weights, requiresGrad: false)))
                return (y.value.scalars, try XCTUnwrap(input.grad).scalars, y.blocked != nil)
            }
            let fast = try run(blocked: true), reference = try run(blocked: false)
            let label = "kernel \(kernel) stride \(stride)"
            XCTAssertTrue(fast.wasBlocked, "the pooled value should stay blocked, \(label)")
            XCTAssertEqual(fast.y, reference.y, "y, \(label)")
            let worst = zip(fast.dx, reference.dx).map { abs($0 - $1) }.max() ?? .nan
            XCTAssertLessThan(worst, 1e-5, "dx, \(label)")
        }
    }
}
