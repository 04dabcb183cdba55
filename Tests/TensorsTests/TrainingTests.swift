import XCTest
@testable import Tensors
@testable import VisionModels

final class TrainingTests: XCTestCase {
    func testTinyMLPOverfitsAFixedBatch() throws {
        var rng = RandomState(seed: 5)
        let model = Sequential([Linear(8, 32, rng: &rng), ActivationLayer(.relu), Linear(32, 4, rng: &rng)])
        let x = Variable(Tensor(normal: [16, 8], std: 1, rng: &rng))
        let labels = (0..<16).map { Int32($0 % 4) }
        let optimizer = AdamW(parameters: model.parameters, learningRate: 1e-2, weightDecay: 0)
        let graph = Graph()
        var last: Float = .infinity
        for step in 0..<300 {
            let loss = try graph.crossEntropy(try model(x, graph), targets: labels)
            last = loss.value[0]
            try LossGuard.check(last, step: step)
            optimizer.zeroGrad()
            graph.backward(loss)
            optimizer.step()
            graph.reset()
        }
        XCTAssertLessThan(last, 0.01)
    }

    func testTinyCNNOverfitsAFixedBatch() throws {
        var rng = RandomState(seed: 6)
        let model = Sequential([
            Conv2d(1, 8, kernel: 3, padding: 1, rng: &rng), BatchNorm2d(8), ActivationLayer(.relu),
            Conv2d(8, 8, kernel: 3, stride: 2, padding: 1, rng: &rng), ActivationLayer(.relu),
        ])
        let head = Linear(8, 3, rng: &rng)
        let x = Variable(Tensor(normal: [12, 1, 8, 8], std: 1, rng: &rng))
        let labels = (0..<12).map { Int32($0 % 3) }
        let optimizer = SGD(parameters: model.parameters + head.parameters, learningRate: 0.1, momentum: 0.9)
        let graph = Graph()
        var last: Float = .infinity
        for _ in 0..<200 {
            let features = try graph.globalAvgPool(try model(x, graph))
            let loss = try graph.crossEntropy(try head(features, graph), targets: labels)
            last = loss.value[0]
            optimizer.zeroGrad()
            graph.backward(loss)
            optimizer.step()
            graph.reset()
        }
        XCTAssertLessThan(last, 0.05)
    }

    /// Same seed, two runs, two threads: bitwise-equal weights.
    func testDeterministicTraining() throws {
        func train() throws -> [Float] {
            let model = try CIFARResNet(depth: 8, inputChannels: 1, classes: 3, seed: 9)
            var rng = RandomState(seed: 10)
            let x = Variable(Tensor(normal: [6, 1, 12, 12], std: 1, rng: &rng))
            let optimizer = SGD(parameters: model.parameters, learningRate: 0.05, momentum: 0.9, weightDecay: 1e-4)
            let graph = Graph()
            for _ in 0..<3 {
                let loss = try graph.crossEntropy(try model(x, graph), targets: [0, 1, 2, 0, 1, 2])
                optimizer.zeroGrad()
                graph.backward(loss)
                optimizer.step()
                graph.reset()
            }
            return model.parameters.flatMap { $0.value.scalars }
        }
        let saved = Parallel.threads
        Parallel.setThreads(2)
        defer { Parallel.setThreads(saved) }
        let a = try train(), b = try train()
        XCTAssertEqual(a.count, b.count)
        XCTAssertTrue(a.elementsEqual(b) { $0.bitPattern == $1.bitPattern }, "weights differ between identical runs")
    }

    func testSteadyStateStepsReuseBuffers() throws {
        // One thread: with several, which scratch buffers overlap depends on timing.
        let saved = Parallel.threads
        Parallel.setThreads(1)
        defer { Parallel.setThreads(saved) }
        let model = try CIFARResNet(depth: 8, inputChannels: 1, classes: 2, seed: 1)
        var rng = RandomState(seed: 2)
        let x = Variable(Tensor(normal: [4, 1, 8, 8], std: 1, rng: &rng))
        let graph = Graph()
        func step() throws {
            let loss = try graph.crossEntropy(try model(x, graph), targets: [0, 1, 0, 1])
            graph.backward(loss)
            graph.reset()
        }
        for _ in 0..<2 { try step() }
        let allocated = graph.pool.allocations
        for _ in 0..<6 { try step() }
        XCTAssertEqual(graph.pool.allocations, allocated, "steps allocate in steady state")
        XCTAssertGreaterThan(allocated, 0)
    }

    func testNonFiniteLossIsReportedWithTheStep() {
        XCTAssertThrowsError(try LossGuard.check(.nan, step: 17)) {
            guard case TensorError.nonFiniteLoss(let step, let value)? = $0 as? TensorError else { return XCTFail("\($0)") }
            XCTAssertEqual(step, 17)
            XCTAssertTrue(value.isNaN)
            XCTAssertTrue("\($0)".contains("step 17"), "\($0)")
        }
        XCTAssertThrowsError(try LossGuard.check(.infinity, step: 3))
        XCTAssertNoThrow(try LossGuard.check(0.5, step: 1))
    }

    func testShapeErrorsAreTyped() throws {
        let g = Graph()
        let a = Variable(Tensor(zeros: [2, 3])), b = Variable(Tensor(zeros: [3, 2]))
        XCTAssertThrowsError(try g.add(a, b)) { XCTAssertTrue("\($0)".contains("add"), "\($0)") }
        XCTAssertThrowsError(try g.crossEntropy(a, targets: [0, 5])) { XCTAssertTrue("\($0)".contains("target 5"), "\($0)") }
        XCTAssertThrowsError(try g.linear(a, weight: Variable(Tensor(zeros: [4, 2])), bias: nil))
        XCTAssertThrowsError(try CIFARResNet(depth: 21)) { XCTAssertTrue("\($0)".contains("21"), "\($0)") }
    }
}
