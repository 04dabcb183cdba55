import XCTest
@testable import Tensors
@testable import VisionModels

final class InferencePlanTests: XCTestCase {
    /// Folded batch norm + fused ReLU/residual equal the eval-mode graph within 1e-4 relative.
    func testFusedPlanEqualsEvalGraph() throws {
        let model = try CIFARResNet(depth: 20, inputChannels: 3, classes: 10, seed: 3)
        var rng = RandomState(seed: 4)
        // Give batch norm non-trivial statistics and affine parameters.
        for (name, t) in model.stateDict() where name.contains("bn") || name.contains("shortcut.1") {
            for i in 0..<t.count {
                if name.hasSuffix("running_var") { t[i] = 0.5 + rng.nextFloat() }
                else { t[i] = t[i] + 0.2 * (rng.nextFloat() - 0.5) }
            }
        }
        let x = Tensor(normal: [3, 3, 32, 32], std: 1, rng: &rng)
        let eval = Graph.inference()
        let reference = try model(Variable(x), eval).value.scalars
        let plan = try model.inferencePlan()
        let fused = try plan.run(x).scalars
        assertClose(fused, reference, tol: 1e-4)
        // Buffers are reused across calls: a second run gives the same answer.
        let again = try plan.run(x).scalars
        XCTAssertEqual(again, fused)
        // stem 442,368 + stage1 6×2,359,296 + stages 2 and 3 each (1,179,648 + 5×2,359,296 + 131,072) + fc 640
        XCTAssertEqual(plan.macsPerSample, 40_813_184)
        XCTAssertThrowsError(try plan.run(Tensor(zeros: [1, 1, 32, 32])))
    }
}
