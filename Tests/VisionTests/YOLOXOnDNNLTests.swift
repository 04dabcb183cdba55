import XCTest
@testable import Tensors
@testable import VisionData
@testable import VisionModels

/// YOLOX training on oneDNN's convolutions (the graph's default) against the engine's own
/// kernels: the same loss and the same gradient for every parameter of a nano model (depthwise
/// and strided convolutions, Focus, SPP, the decoupled head) after one step.
final class YOLOXOnDNNLTests: XCTestCase {
    func testLossAndGradientsMatchTheEngineKernels() throws {
        let batch = try ShapesBatch(count: 2, size: 64, seed: 5)
        let (x, truths, classes) = (batch.images, batch.truths, ShapesBatch.classes)
        func step(dnnl: Bool, nudge: Bool = false) throws -> (Float, [[Float]]) {
            let model = YOLOXModel(size: .nano, classes: classes, seed: 1)
            if nudge { for p in model.parameters { for i in 0..<p.value.count { p.value[i] *= 1 + 1e-6 * Float(i % 3 - 1) } } }
            let graph = Graph()
            graph.useDNNL = dnnl
            let out = try YOLOXLoss(classes: classes)(try model(Variable(x), graph), truths: truths, height: 64, width: 64, graph: graph)
            graph.backward(out.loss)
            return (out.loss.value[0], model.parameters.map { $0.grad?.scalars ?? [] })
        }
        let (fastLoss, fast) = try step(dnnl: true)
        let (referenceLoss, reference) = try step(dnnl: false)
        let (_, nudged) = try step(dnnl: false, nudge: true)
        var floor: [Float] = []
        for (a, r) in zip(nudged, reference) { floor.append((zip(a, r).map { abs($0 - $1) }.max() ?? 0) / max(1e-3, r.map(abs).max() ?? 0)) }
        // A deep net with batch norm over few values amplifies rounding: the bar is what a
        // 1e-6 nudge of the weights does to the engine's own gradients.
        XCTAssertEqual(fastLoss, referenceLoss, accuracy: 1e-4 * max(1, abs(referenceLoss)))
        var errors: [Float] = []
        for (a, r) in zip(fast, reference) {
            XCTAssertEqual(a.count, r.count)
            errors.append((zip(a, r).map { abs($0 - $1) }.max() ?? 0) / max(1e-3, r.map(abs).max() ?? 0))
        }
        XCTAssertLessThanOrEqual(errors.max()!, max(1e-3, floor.max()!), "worst parameter \(errors.firstIndex(of: errors.max()!)!)")
        XCTAssertLessThanOrEqual(errors.filter { $0 > 1e-3 }.count, max(3, floor.filter { $0 > 1e-3 }.count))
    }
}
