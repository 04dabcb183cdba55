import XCTest
@testable import Tensors

final class OptimizerTests: XCTestCase {
    func parameter(_ values: [Float], grad: [Float]) throws -> Variable {
        let p = Variable(try Tensor(shape: [values.count], values: values), requiresGrad: true)
        p.grad = try Tensor(shape: [grad.count], values: grad)
        return p
    }

    func testSGDMomentumNesterovWeightDecay() throws {
        let p = try parameter([1, -2], grad: [0.5, 0.25])
        let sgd = SGD(parameters: [p], learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true)
        sgd.step()
        // g = grad + wd·w; v = g; w -= lr·(g + μ·v)
        let g0: Float = 0.5 + 0.01 * 1, g1: Float = 0.25 + 0.01 * -2
        XCTAssertEqual(p.value[0], 1 - 0.1 * (g0 + 0.9 * g0), accuracy: 1e-6)
        XCTAssertEqual(p.value[1], -2 - 0.1 * (g1 + 0.9 * g1), accuracy: 1e-6)
        sgd.step()
        let w0 = 1 - 0.1 * (g0 + 0.9 * g0)
        let gg = 0.5 + 0.01 * w0, v = 0.9 * g0 + gg
        XCTAssertEqual(p.value[0], w0 - 0.1 * (gg + 0.9 * v), accuracy: 1e-6)
    }

    func testAdamWFirstStep() throws {
        let p = try parameter([1], grad: [0.2])
        let adam = AdamW(parameters: [p], learningRate: 0.01, weightDecay: 0.1)
        adam.step()
        // Bias-corrected first step moves by lr·sign(g) after the decoupled decay.
        let decayed: Float = 1 - 0.01 * 0.1
        let moved: Float = 0.01 * 0.2 / (0.2 + 1e-8)
        XCTAssertEqual(p.value[0], decayed - moved, accuracy: 1e-6)
    }

    func testSchedules() {
        let cosine = LearningRateSchedule.cosine(totalSteps: 100, minimum: 0)
        XCTAssertEqual(cosine.rate(base: 1, step: 0), 1, accuracy: 1e-6)
        XCTAssertEqual(cosine.rate(base: 1, step: 50), 0.5, accuracy: 1e-6)
        XCTAssertEqual(cosine.rate(base: 1, step: 100), 0, accuracy: 1e-6)
        let warm = LearningRateSchedule.warmup(steps: 10, startFactor: 0.1, then: cosine)
        XCTAssertEqual(warm.rate(base: 1, step: 0), 0.1, accuracy: 1e-6)
        XCTAssertEqual(warm.rate(base: 1, step: 5), 0.55, accuracy: 1e-6)
        XCTAssertEqual(LearningRateSchedule.step(milestones: [10, 20], gamma: 0.1).rate(base: 1, step: 25), 0.01, accuracy: 1e-7)
    }

    func testGradientClippingByNorm() throws {
        let p = try parameter([0, 0], grad: [3, 4])
        let sgd = SGD(parameters: [p], learningRate: 1, momentum: 0)
        let norm = sgd.clipGradNorm(1)
        XCTAssertEqual(norm, 5, accuracy: 1e-5)
        XCTAssertEqual(p.grad![0], 0.6, accuracy: 1e-4)
        XCTAssertEqual(p.grad![1], 0.8, accuracy: 1e-4)
    }

    func testEMA() throws {
        var rng = RandomState(seed: 1)
        let layer = Linear(2, 1, rng: &rng)
        let ema = ExponentialMovingAverage(module: layer, decay: 0.5)
        let before = layer.weight.value.scalars
        layer.weight.value.fill(10)
        ema.update()  // decay min(0.5, 2/11) = 2/11
        let d: Float = 2.0 / 11.0
        XCTAssertEqual(ema.stateDict["weight"]![0], d * before[0] + (1 - d) * 10, accuracy: 1e-5)
    }
}
