import XCTest
@testable import Tensors

/// Every differentiable op's gradient against central finite differences.
final class GradientTests: XCTestCase {
    var rng = RandomState(seed: 11)

    func param(_ shape: [Int], scale: Float = 1) -> Variable {
        Variable(Tensor(uniform: shape, low: -scale, high: scale, rng: &rng), requiresGrad: true)
    }

    /// Values kept away from 0 so ReLU-style kinks do not sit inside the finite difference.
    func awayFromZero(_ shape: [Int]) -> Variable {
        let v = param(shape)
        for i in 0..<v.value.count { v.value[i] = (v.value[i] >= 0 ? 1 : -1) * (0.2 + abs(v.value[i])) }
        return v
    }

    func testConv2d() throws {
        let x = param([2, 4, 5, 6]), w = param([6, 2, 3, 3]), b = param([6])
        try GradientCheck.check(inputs: [x, w, b]) { g, v in
            try g.conv2d(v[0], weight: v[1], bias: v[2], stride: (2, 1), padding: (1, 1), groups: 2)
        }
    }

    func testLinear() throws {
        let x = param([3, 5]), w = param([4, 5]), b = param([4])
        try GradientCheck.check(inputs: [x, w, b]) { g, v in try g.linear(v[0], weight: v[1], bias: v[2]) }
    }

    func testBatchNormTraining() throws {
        let x = param([4, 3, 3, 2]), gamma = param([3]), beta = param([3])
        let mean = Tensor(zeros: [3]), variance = Tensor(repeating: 1, shape: [3])
        try GradientCheck.check(inputs: [x, gamma, beta], tolerance: 3e-2) { g, v in
            try g.batchNorm(v[0], gamma: v[1], beta: v[2], runningMean: mean, runningVar: variance)
        }
    }

    func testActivations() throws {
        for kind in Activation.allCases {
            let x = awayFromZero([2, 7])
            try GradientCheck.check(inputs: [x], step: 1e-2) { g, v in g.activation(v[0], kind) }
        }
    }

    /// SiLU and sigmoid run through a polynomial exp at the CPU's vector width: they match the scalar
    /// formulas (libm's expf) to float precision over the whole range, extremes included.
    func testVectorisedSiLUAndSigmoidMatchScalar() {
        let xs = (0..<4003).map { Float($0 - 2001) * 0.05 } + [-200, -88, 88, 200, 0, -0.0]
        let dy = [Float](repeating: 1.5, count: xs.count)
        var y = [Float](repeating: 0, count: xs.count), dx = y
        for kind in [Activation.silu, .sigmoid] {
            kind.forward(&y, xs, count: xs.count)
            kind.backward(&dx, dy, xs, count: xs.count)
            for (i, x) in xs.enumerated() {
                XCTAssertEqual(y[i], kind.apply(x), accuracy: 2e-6 * max(1, abs(kind.apply(x))), "\(kind)(\(x))")
                XCTAssertEqual(dx[i], 1.5 * kind.derivative(x), accuracy: 4e-6, "\(kind)'(\(x))")
            }
        }
    }

    func testAddMulReshape() throws {
        let a = param([2, 3]), b = param([2, 3])
        try GradientCheck.check(inputs: [a, b]) { g, v in
            try g.reshape(try g.mul(try g.add(v[0], v[1]), v[1]), [3, 2])
        }
    }

    func testPooling() throws {
        let x = param([2, 2, 5, 5])
        // Distinct values keep the max unique under the finite-difference step.
        for i in 0..<x.value.count { x.value[i] = Float(i % 13) * 0.37 + Float(i) * 0.01 }
        try GradientCheck.check(inputs: [x], step: 1e-3) { g, v in try g.maxPool2d(v[0], kernel: 3, stride: 2, padding: 1) }
        let y = param([2, 3, 4, 4])
        try GradientCheck.check(inputs: [y]) { g, v in try g.avgPool2d(v[0], kernel: 2, stride: 2) }
        try GradientCheck.check(inputs: [y]) { g, v in try g.globalAvgPool(v[0]) }
    }

    func testSoftmaxLogSoftmaxCrossEntropy() throws {
        let x = param([3, 5])
        try GradientCheck.check(inputs: [x]) { g, v in try g.softmax(v[0]) }
        try GradientCheck.check(inputs: [x]) { g, v in try g.logSoftmax(v[0]) }
        try GradientCheck.check(inputs: [x]) { g, v in try g.crossEntropy(v[0], targets: [1, 0, 4], labelSmoothing: 0.1) }
    }

    func testGradientsAccumulateWhenAValueIsUsedTwice() throws {
        let x = param([2, 3])
        let g = Graph()
        let y = try g.add(x, x)
        let loss = try g.crossEntropy(y, targets: [0, 2])
        g.backward(loss)
        let gradTwice = x.grad!.scalars
        // d(add(x, x))/dx = 2·upstream: compare with an explicit doubled input.
        let x2 = Variable(x.value.copy(), requiresGrad: true)
        for i in 0..<x2.value.count { x2.value[i] *= 2 }
        let g2 = Graph()
        g2.backward(try g2.crossEntropy(x2, targets: [0, 2]))
        assertClose(gradTwice, x2.grad!.scalars.map { $0 * 2 }, tol: 1e-6)
    }
}

final class MoreGradientTests: XCTestCase {
    var rng = RandomState(seed: 21)

    func param(_ shape: [Int]) -> Variable {
        Variable(Tensor(uniform: shape, low: -1, high: 1, rng: &rng), requiresGrad: true)
    }

    func testLayerNorm() throws {
        let x = param([3, 6]), g = param([6]), b = param([6])
        try GradientCheck.check(inputs: [x, g, b]) { graph, v in try graph.layerNorm(v[0], gamma: v[1], beta: v[2]) }
    }

    func testUpsampleConcatSlicePermute() throws {
        let a = param([2, 2, 3, 3]), b = param([2, 1, 3, 3])
        try GradientCheck.check(inputs: [a]) { g, v in try g.upsample2x(v[0]) }
        try GradientCheck.check(inputs: [a, b]) { g, v in try g.concat([v[0], v[1]], axis: 1) }
        try GradientCheck.check(inputs: [a]) { g, v in try g.slice(v[0], axis: 2, start: 1, end: 3) }
        try GradientCheck.check(inputs: [a]) { g, v in try g.permute(v[0], [0, 2, 3, 1]) }
    }

    func testPermuteMatchesIndexing() throws {
        let x = try Tensor(shape: [2, 3, 4], values: (0..<24).map(Float.init))
        let y = try Graph(recording: false).permute(Variable(x), [2, 0, 1]).value
        XCTAssertEqual(y.shape, [4, 2, 3])
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 { XCTAssertEqual(y[(k * 2 + i) * 3 + j], x[(i * 3 + j) * 4 + k]) } } }
    }

    func testDropout() throws {
        var local = RandomState(seed: 1)
        let x = Variable(Tensor(repeating: 1, shape: [10_000]), requiresGrad: true)
        let g = Graph()
        let y = try g.dropout(x, probability: 0.25, rng: &local)
        let kept = y.value.scalars.filter { $0 != 0 }
        XCTAssertEqual(Double(kept.count) / 10_000, 0.75, accuracy: 0.02)
        XCTAssertTrue(kept.allSatisfy { abs($0 - 4.0 / 3.0) < 1e-6 })
        let eval = Graph(recording: false, training: false)
        XCTAssertTrue(try eval.dropout(x, probability: 0.25, rng: &local) === x)
    }

    func testBCEAndSmoothL1() throws {
        let x = param([4, 3])
        let t = Tensor(uniform: [4, 3], low: 0, high: 1, rng: &rng)
        try GradientCheck.check(inputs: [x]) { g, v in try g.bceWithLogits(v[0], targets: t) }
        let target = Tensor(uniform: [4, 3], low: -1, high: 1, rng: &rng)
        try GradientCheck.check(inputs: [x], step: 1e-3) { g, v in try g.smoothL1(v[0], targets: target, beta: 0.5) }
        try GradientCheck.check(inputs: [x], step: 1e-3) { g, v in try g.l1(v[0], targets: target) }
        // Reference values.
        let z = Variable(try Tensor(shape: [2], values: [0, 100]))
        let bce = try Graph(recording: false).bceWithLogits(z, targets: try Tensor(shape: [2], values: [1, 1])).value[0]
        XCTAssertEqual(bce, Float(log(2.0)) / 2, accuracy: 1e-6)
    }

    func testIoUAndGIoULosses() throws {
        let boxes = Variable(try Tensor(shape: [3, 4], values: [0, 0, 2, 2, 1, 1, 4, 5, 0, 0, 1, 1]), requiresGrad: true)
        let targets = try Tensor(shape: [3, 4], values: [1, 1, 3, 3, 0, 2, 3, 4, 2, 2, 3, 3])
        // Box 0: inter 1, union 7 → IoU 1/7; enclosing 9 → GIoU 1/7 − 2/9.
        let iou = try Graph(recording: false).boxLoss(Variable(try Tensor(shape: [1, 4], values: [0, 0, 2, 2])),
                                                      targets: try Tensor(shape: [1, 4], values: [1, 1, 3, 3]), overlap: .iou)
        XCTAssertEqual(iou.value[0], 1 - 1.0 / 7, accuracy: 1e-5)
        let giou = try Graph(recording: false).boxLoss(Variable(try Tensor(shape: [1, 4], values: [0, 0, 2, 2])),
                                                       targets: try Tensor(shape: [1, 4], values: [1, 1, 3, 3]))
        XCTAssertEqual(giou.value[0], 1 - (1.0 / 7 - 2.0 / 9), accuracy: 1e-5)
        // SIoU against YOLOv6's formulation (angle cost as cos(2·arcsin(sin α) − π/2), the smaller
        // sine): 0.9623035622546225 and 0.7850215738979243, computed in Python.
        let siou = try Graph(recording: false).boxLoss(Variable(try Tensor(shape: [2, 4], values: [0, 0, 2, 2, 1, 1, 4, 5])),
                                                       targets: try Tensor(shape: [2, 4], values: [1, 1, 3, 3, 0, 2, 3, 4]), overlap: .siou)
        XCTAssertEqual(siou.value[0], Float((0.9623035622546225 + 0.7850215738979243) / 2), accuracy: 1e-5)
        for overlap in [BoxOverlap.iou, .giou] {
            try GradientCheck.check(inputs: [boxes], step: 1e-3) { g, v in try g.boxLoss(v[0], targets: targets, overlap: overlap) }
        }
        // SIoU's angle cost has a kink where the centres align on an axis (box 1 above); its
        // finite-difference check uses targets off both axes.
        let offAxis = try Tensor(shape: [3, 4], values: [1, 1.5, 3, 3, 0, 2.5, 3, 4, 2, 2, 3.5, 3])
        try GradientCheck.check(inputs: [boxes], step: 1e-3) { g, v in try g.boxLoss(v[0], targets: offAxis, overlap: .siou) }
        // Degenerate boxes stay finite.
        let zero = Variable(Tensor(zeros: [1, 4]), requiresGrad: true)
        let g = Graph()
        for overlap in BoxOverlap.allCases {
            let loss = try g.boxLoss(zero, targets: Tensor(zeros: [1, 4]), overlap: overlap)
            g.backward(loss)
            XCTAssertTrue(loss.value[0].isFinite, "\(overlap)")
            XCTAssertTrue(zero.grad!.scalars.allSatisfy(\.isFinite), "\(overlap)")
            g.reset()
        }
    }
}
