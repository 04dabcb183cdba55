import XCTest
@testable import Tensors
@testable import VisionModels

final class YOLOXModelTests: XCTestCase {
    /// Parameter counts equal the official YOLOX figures (80 classes): nano 0.91 M, tiny 5.06 M.
    func testParameterCountsMatchTheReference() {
        let nano = YOLOXModel(size: .nano, classes: 80).parameterCount
        let tiny = YOLOXModel(size: .tiny, classes: 80).parameterCount
        XCTAssertTrue((905_000..<915_000).contains(nano), "nano \(nano)")
        XCTAssertTrue((5_055_000..<5_065_000).contains(tiny), "tiny \(tiny)")
    }

    func testFocusStacksPixelPhasesInYOLOXOrder() throws {
        var rng = RandomState(seed: 1)
        let focus = Focus(1, 4, kernel: 1, rng: &rng)
        let x = Variable(try Tensor(shape: [1, 1, 2, 2], values: [1, 2, 3, 4]))
        let g = Graph(recording: false)
        let split = try g.permute(try g.reshape(x, [1, 1, 1, 2, 1, 2]), [0, 5, 3, 1, 2, 4])
        // top-left, bottom-left, top-right, bottom-right
        XCTAssertEqual(split.value.scalars, [1, 3, 2, 4])
        XCTAssertEqual(try focus(x, g).shape, [1, 4, 1, 1])
    }

    func testOutputsAllLevelsAndTrainsEndToEnd() throws {
        let model = YOLOXModel(size: .nano, classes: 3, seed: 2)
        var rng = RandomState(seed: 3)
        let x = Tensor(normal: [2, 3, 64, 64], std: 1, rng: &rng)
        let graph = Graph()
        let out = try model(Variable(x), graph)
        XCTAssertEqual(out.shape, [2, 64 + 16 + 4, 8])
        XCTAssertEqual(YOLOXDecoder(classes: 3).grid(height: 64, width: 64).count, 84)
        // Objectness starts near the 1% prior.
        XCTAssertEqual(1 / (1 + exp(-out.value[4])), 0.01, accuracy: 0.005)
        // Gradients reach every parameter through neck and head.
        let targets = Tensor(zeros: out.shape)
        let loss = try graph.bceWithLogits(out, targets: targets)
        graph.backward(loss)
        let missing = model.namedParameters().filter { $0.1.grad == nil }.map(\.0)
        XCTAssertEqual(missing, [])
        XCTAssertThrowsError(try model(Variable(Tensor(zeros: [1, 3, 48, 40])), Graph(recording: false)))
    }

    /// The fused plan (Focus, CSP with post-activation shortcuts, SPP, upsampling, concat, the
    /// flattened head) equals the eval graph, for the depthwise nano and the plain tiny, on
    /// oneDNN and on the engine's kernels.
    func testFusedPlanEqualsTheEvalGraph() throws {
        for size in [YOLOXModel.Size.nano, .tiny] {
            let model = YOLOXModel(size: size, classes: 3, seed: 4)
            var rng = RandomState(seed: 6)
            for (key, t) in model.stateDict() where key.hasSuffix("running_var") || key.hasSuffix("running_mean") {
                for i in 0..<t.count { t[i] = key.hasSuffix("running_var") ? 0.5 + rng.nextFloat() : 0.2 * (rng.nextFloat() - 0.5) }
            }
            let x = Tensor(normal: [2, 3, 64, 96], std: 1, rng: &rng)
            let reference = try model(Variable(x), Graph(recording: false, training: false)).value
            let plan = try model.inferencePlan(height: 64, width: 96)
            for backend in [InferencePlan.Backend.oneDNN, .engine] {
                plan.backend = backend
                let fused = try plan.run(x)
                XCTAssertEqual(fused.shape, reference.shape, "\(size) \(backend)")
                let scale = max(reference.scalars.map(abs).max() ?? 1, 1)
                let worst = zip(fused.scalars, reference.scalars).map { abs($0 - $1) }.max() ?? 0
                XCTAssertLessThan(worst, 1e-4 * scale, "\(size) \(backend)")
            }
            XCTAssertNil(plan.oneDNNFailure, "\(size)")
        }
    }
}
