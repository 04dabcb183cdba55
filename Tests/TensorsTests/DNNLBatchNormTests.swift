import XCTest
@testable import Tensors

/// oneDNN's training batch norm (ReLU fused or not) against the engine's blocked kernel, the
/// reference: output, statistics, and every gradient.
final class DNNLBatchNormTests: XCTestCase {
    func testPrimitiveMatchesTheEngineKernel() throws {
        guard DNNLConvolution.enabled, BlockedLayout.block > 0 else { throw XCTSkip("oneDNN's blocked layout is not in use on this CPU") }
        var rng = RandomState(seed: 44)
        let block = BlockedLayout.block
        for relu in [false, true] {
            let (n, c, plane) = (4, 2 * block, 49)
            let count = n * c * plane
            let x = (0..<count).map { _ in 3 * rng.nextFloat() - 1 }, dy = (0..<count).map { _ in 2 * rng.nextFloat() - 1 }
            let gamma = (0..<c).map { _ in 0.5 + rng.nextFloat() }, beta = (0..<c).map { _ in rng.nextFloat() - 0.5 }
            let eps: Float = 1e-3
            var mean = [Float](repeating: 0, count: c), invStd = mean, rm = mean, rv = [Float](repeating: 1, count: c)
            var y = [Float](repeating: 0, count: count)
            BlockedBatchNormKernel.forwardTraining(&y, x, gamma: gamma, beta: beta, runningMean: &rm, runningVar: &rv, savedMean: &mean,
                                                   savedInvStd: &invStd, batch: n, channels: c, plane: plane, block: block, momentum: 0.1,
                                                   eps: eps, epilogue: .init(relu: relu))
            var dx = [Float](repeating: 0, count: count), dgamma = [Float](repeating: 0, count: c), dbeta = dgamma
            BlockedBatchNormKernel.backward(dx: &dx, dgamma: &dgamma, dbeta: &dbeta, dy: dy, x: x, gamma: gamma, savedMean: mean,
                                            savedInvStd: invStd, batch: n, channels: c, plane: plane, block: block,
                                            reluOutput: relu ? y : nil)

            let primitive = try XCTUnwrap(DNNLBatchNorm.shared(batch: n, channels: c, plane: plane, block: block, eps: eps, relu: relu))
            var oy = [Float](repeating: .nan, count: count), omean = [Float](repeating: .nan, count: c), ovariance = omean
            var workspace = [Float](repeating: 0, count: max(1, primitive.workspaceCount))
            XCTAssertTrue(primitive.forward(&oy, x, gamma: gamma, beta: beta, mean: &omean, variance: &ovariance, workspace: &workspace))
            var odx = [Float](repeating: .nan, count: count), odgamma = [Float](repeating: .nan, count: c), odbeta = odgamma
            XCTAssertTrue(primitive.backward(dx: &odx, dgamma: &odgamma, dbeta: &odbeta, dy: dy, x: x, gamma: gamma, beta: beta, mean: omean,
                                             variance: ovariance, workspace: workspace), primitive.lastError ?? "")
            let label = "relu \(relu), implementations \(primitive.implementations)"
            let oInvStd = ovariance.map { 1 / ($0 + eps).squareRoot() }
            for (name, a, b, tolerance) in [("y", oy, y, Float(1e-4)), ("mean", omean, mean, 1e-5), ("invStd", oInvStd, invStd, 1e-4),
                                             ("dx", odx, dx, 1e-3), ("dgamma", odgamma, dgamma, 1e-3), ("dbeta", odbeta, dbeta, 1e-3)] {
                let worst = zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? .nan
                XCTAssertLessThan(worst, tolerance, "\(name), \(label)")
            }
        }
    }

    /// oneDNN's fused ReLU turns NaN into 0; a NaN input must still reach the output (and the
    /// loss, where a diverging run is stopped), so such a batch runs on the engine's kernel.
    func testNonFiniteInputStillReachesTheOutput() throws {
        guard DNNLBatchNorm.enabled, BlockedLayout.block > 0 else { throw XCTSkip("oneDNN's batch norm is not in use on this CPU") }
        let channels = BlockedLayout.block
        var rng = RandomState(seed: 2)
        let x = Tensor(uniform: [2, channels, 6, 6], low: -1, high: 1, rng: &rng)
        x.pointer[7] = .nan
        let graph = Graph()
        let w = Variable(Tensor(uniform: [channels, channels, 3, 3], low: -0.3, high: 0.3, rng: &rng), requiresGrad: true)
        let h = try graph.conv2d(Variable(x, requiresGrad: false), weight: w, bias: nil, padding: (1, 1))
        XCTAssertNotNil(h.blocked)
        let y = try graph.batchNorm(h, gamma: Variable(Tensor(repeating: 1, shape: [channels]), requiresGrad: true),
                                    beta: Variable(Tensor(zeros: [channels]), requiresGrad: true), runningMean: Tensor(zeros: [channels]),
                                    runningVar: Tensor(repeating: 1, shape: [channels]), activation: .relu)
        XCTAssertTrue(y.value.scalars.contains { $0.isNaN }, "a NaN in the input should show in the output")
    }
}
