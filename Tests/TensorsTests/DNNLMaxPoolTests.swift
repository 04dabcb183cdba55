import XCTest
@testable import Tensors

/// oneDNN's max pooling on blocked values against the engine's `PoolingKernel` (the reference)
/// through the graph: SPP's stride-1 windows and a stride-2 one, outputs and input gradients
/// equal (values drawn without ties, so both route each gradient to the same element).
final class DNNLMaxPoolTests: XCTestCase {
    func testBlockedPoolingMatchesThePlainKernel() throws {
        guard DNNLConvolution.enabled, BlockedLayout.block > 0 else { throw XCTSkip("oneDNN's blocked layout is not in use on this CPU") }
        let channels = BlockedLayout.block
        var rng = RandomState(seed: 17)
        let w = Tensor(uniform: [channels, 3, 3, 3], low: -0.5, high: 0.5, rng: &rng)
        let probe = Tensor(uniform: [4 * channels * 81], low: -1, high: 1, rng: &rng)
        // SPP's windows on a 9×9 map and on a 3×3 one (YOLOX-nano at 96×96: windows larger than the map).
        for (size, kernel, stride, padding) in [(9, 5, 1, 2), (9, 13, 1, 6), (9, 3, 2, 1), (3, 5, 1, 2), (3, 9, 1, 4), (3, 13, 1, 6)] {
            let x = Tensor(uniform: [4, 3, size, size], low: -1, high: 1, rng: &rng)
            func run(blocked: Bool) throws -> (y: [Float], dx: [Float], wasBlocked: Bool) {
                let graph = Graph()
                graph.useBlockedLayout = blocked
                graph.useDNNLPooling = true
                let input = Variable(x.copy(), requiresGrad: true)
                let h = try graph.conv2d(input, weight: Variable(w.copy(), requiresGrad: false), bias: nil, padding: (1, 1))
                let y = try graph.maxPool2d(h, kernel: kernel, stride: stride, padding: padding)
                let weights = try Tensor(shape: y.shape, values: Array(probe.scalars.prefix(y.shape.reduce(1, *))))
                graph.backward(try graph.mul(y, Variable(weights, requiresGrad: false)))
                return (y.value.scalars, try XCTUnwrap(input.grad).scalars, y.blocked != nil)
            }
            let fast = try run(blocked: true), reference = try run(blocked: false)
            let label = "\(size)×\(size), kernel \(kernel) stride \(stride)"
            XCTAssertTrue(fast.wasBlocked, "the pooled value should stay blocked, \(label)")
            XCTAssertEqual(fast.y, reference.y, "y, \(label)")
            let worst = zip(fast.dx, reference.dx).map { abs($0 - $1) }.max() ?? .nan
            XCTAssertLessThan(worst, 1e-5, "dx, \(label)")
        }
    }
}
