import XCTest
@testable import Tensors

/// Batch norm, ReLU and AdamW run sixteen lanes at a time (`PlaneMath`): each against a naive
/// reference in Double (AdamW: bitwise against its scalar formula), on runs that exercise the
/// vector body and the scalar tail.
final class VectorisedKernelTests: XCTestCase {
    func testBatchNormTrainingForwardAndBackwardMatchDoubleReference() {
        var rng = RandomState(seed: 5)
        for (batch, channels, plane) in [(3, 2, 37), (2, 3, 64), (4, 1, 5), (2, 2, 1024)] {
            let count = batch * channels * plane
            let x = (0..<count).map { _ in 3 * rng.nextFloat() - 1 }
            let dy = (0..<count).map { _ in 2 * rng.nextFloat() - 1 }
            let gamma = (0..<channels).map { _ in 0.5 + rng.nextFloat() }
            let beta = (0..<channels).map { _ in rng.nextFloat() - 0.5 }
            var y = [Float](repeating: 0, count: count), dx = y
            var runningMean = [Float](repeating: 0, count: channels), runningVar = [Float](repeating: 1, count: channels)
            var mean = runningMean, invStd = runningMean
            var dgamma = [Float](repeating: 0, count: channels), dbeta = dgamma
            BatchNormKernel.forwardTraining(&y, x, gamma: gamma, beta: beta, runningMean: &runningMean, runningVar: &runningVar,
                                            savedMean: &mean, savedInvStd: &invStd, batch: batch, channels: channels,
                                            plane: plane, momentum: 0.1, eps: 1e-5)
            BatchNormKernel.backward(dx: &dx, dgamma: &dgamma, dbeta: &dbeta, dy: dy, x: x, gamma: gamma,
                                     savedMean: mean, savedInvStd: invStd, batch: batch, channels: channels, plane: plane)
            let m = Double(batch * plane)
            for c in 0..<channels {
                let indices = (0..<batch).flatMap { b in (0..<plane).map { (b * channels + c) * plane + $0 } }
                let mu = indices.reduce(0.0) { $0 + Double(x[$1]) } / m
                let variance = indices.reduce(0.0) { $0 + (Double(x[$1]) - mu) * (Double(x[$1]) - mu) } / m
                let inv = 1 / (variance + 1e-5).squareRoot()
                XCTAssertEqual(Double(mean[c]), mu, accuracy: 1e-6)
                XCTAssertEqual(Double(invStd[c]), inv, accuracy: 1e-5 * inv)
                XCTAssertEqual(Double(runningVar[c]), 0.9 + 0.1 * variance * m / (m - 1), accuracy: 1e-5)
                let sumDy = indices.reduce(0.0) { $0 + Double(dy[$1]) }
                let sumDyXhat = indices.reduce(0.0) { $0 + Double(dy[$1]) * (Double(x[$1]) - mu) * inv }
                XCTAssertEqual(Double(dbeta[c]), sumDy, accuracy: 1e-4 * m.squareRoot())
                XCTAssertEqual(Double(dgamma[c]), sumDyXhat, accuracy: 1e-4 * m.squareRoot())
                for i in indices {
                    let xhat = (Double(x[i]) - mu) * inv
                    XCTAssertEqual(Double(y[i]), Double(gamma[c]) * xhat + Double(beta[c]), accuracy: 1e-5, "y[\(i)] plane \(plane)")
                    let expected = Double(gamma[c]) * inv / m * (m * Double(dy[i]) - sumDy - xhat * sumDyXhat)
                    XCTAssertEqual(Double(dx[i]), expected, accuracy: 2e-5, "dx[\(i)] plane \(plane)")
                }
            }
        }
    }

    func testBatchNormInferenceMatchesDoubleReference() {
        var rng = RandomState(seed: 6)
        let (batch, channels, plane) = (2, 3, 19)
        let x = (0..<batch * channels * plane).map { _ in rng.nextFloat() * 4 - 2 }
        let gamma: [Float] = [0.5, 1, 2], beta: [Float] = [0.1, -0.2, 0.3]
        let mean: [Float] = [0.2, -0.1, 0], variance: [Float] = [1, 0.5, 2]
        var y = [Float](repeating: 0, count: x.count)
        BatchNormKernel.forwardInference(&y, x, gamma: gamma, beta: beta, runningMean: mean, runningVar: variance,
                                         batch: batch, channels: channels, plane: plane, eps: 1e-5)
        for i in 0..<x.count {
            let c = (i / plane) % channels
            let expected = Double(gamma[c]) * (Double(x[i]) - Double(mean[c])) / (Double(variance[c]) + 1e-5).squareRoot() + Double(beta[c])
            XCTAssertEqual(Double(y[i]), expected, accuracy: 1e-5)
        }
    }

    /// ReLU forward keeps NaN (a diverging loss still shows it); backward passes dy where x > 0 only.
    func testReLUForwardAndBackwardMatchScalar() {
        let xs: [Float] = (0..<53).map { Float($0 - 26) * 0.25 } + [.nan, -.infinity, .infinity, -0.0, 0]
        let dy = xs.indices.map { Float($0) + 0.5 }
        var y = [Float](repeating: 7, count: xs.count), dx = y
        Activation.relu.forward(&y, xs, count: xs.count)
        Activation.relu.backward(&dx, dy, xs, count: xs.count)
        for (i, x) in xs.enumerated() {
            if x.isNaN { XCTAssertTrue(y[i].isNaN, "relu(NaN) at \(i)") } else { XCTAssertEqual(y[i], max(x, 0), "relu(\(x))") }
            XCTAssertEqual(dx[i], x > 0 ? dy[i] : 0, "relu'(\(x)) at \(i)")
        }
    }

    /// AdamW's update runs sixteen lanes at a time: bitwise what the per-element formula gives.
    func testAdamWUpdateMatchesScalarFormulaBitwise() {
        var rng = RandomState(seed: 8)
        let count = 53
        let g = (0..<count).map { _ in rng.nextFloat() - 0.5 }
        var w = (0..<count).map { _ in rng.nextFloat() - 0.5 }, m = (0..<count).map { _ in 0.1 * rng.nextFloat() }
        var v = (0..<count).map { _ in 0.01 * rng.nextFloat() }
        var (ws, ms, vs) = (w, m, v)
        let k = AdamW.Constants(decay: 1e-4, rate: 1e-3, beta1: 0.9, beta2: 0.999, c1: 0.19, c2: 0.002, eps: 1e-8)
        AdamW.update(&w, g, &m, &v, count: count, k)
        for i in 0..<count {
            ws[i] -= k.decay * ws[i]
            ms[i] = k.beta1 * ms[i] + (1 - k.beta1) * g[i]
            vs[i] = k.beta2 * vs[i] + (1 - k.beta2) * g[i] * g[i]
            ws[i] -= k.rate * (ms[i] / k.c1) / ((vs[i] / k.c2).squareRoot() + k.eps)
        }
        XCTAssertEqual(w.map(\.bitPattern), ws.map(\.bitPattern))
        XCTAssertEqual(m.map(\.bitPattern), ms.map(\.bitPattern))
        XCTAssertEqual(v.map(\.bitPattern), vs.map(\.bitPattern))
    }
}
