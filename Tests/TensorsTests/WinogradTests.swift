import XCTest
@testable import Tensors
@testable import VisionModels

final class WinogradTests: XCTestCase {
    /// F(2×2, 3×3) equals the naive convolution (odd sizes included: partial edge tiles).
    func testMatchesNaiveReference() throws {
        var rng = RandomState(seed: 8)
        for (c, k, h, w) in [(3, 16, 32, 32), (16, 16, 32, 32), (64, 64, 8, 8), (5, 7, 7, 5), (2, 3, 1, 1), (8, 4, 3, 6)] {
            let g = ConvGeometry(batch: 1, inChannels: c, height: h, width: w, outChannels: k, kernel: (3, 3), padding: (1, 1))
            let x = randomArray(c * h * w, &rng), weights = randomArray(k * c * 9, &rng)
            let u = weights.withUnsafeBufferPointer { WinogradKernel.transformFilter($0.baseAddress!, outChannels: k, inChannels: c) }
            var y = [Float](repeating: .nan, count: k * h * w)
            y.withUnsafeMutableBufferPointer { yp in
                x.withUnsafeBufferPointer { xp in
                    WinogradKernel.forward(yp.baseAddress!, xp.baseAddress!, u.pointer, inChannels: c, outChannels: k, height: h, width: w,
                                           pool: BufferPool())
                }
            }
            assertClose(y, Reference.conv2d(x, weights, [Float](repeating: 0, count: k), g), tol: 1e-4, "\(c)→\(k) @\(h)x\(w)")
        }
    }

    func testPlanGivesTheSameResultWithAndWithoutWinograd() throws {
        let model = try CIFARResNet(depth: 20, inputChannels: 3, classes: 10, seed: 3)
        var rng = RandomState(seed: 4)
        let x = Tensor(normal: [2, 3, 32, 32], std: 1, rng: &rng)
        let plan = try model.inferencePlan()
        let fast = try plan.run(x).scalars
        plan.useWinograd = false
        let direct = try plan.run(x).scalars
        assertClose(fast, direct, tol: 1e-4)
    }
}
