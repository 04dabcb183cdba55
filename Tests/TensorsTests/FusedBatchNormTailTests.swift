import XCTest
@testable import Tensors

/// Batch norm fused with a residual block's tail, relu(bn(x) + residual), on blocked values:
/// the kernel against its unfused composition (forward and backward, block 8 and 16), the
/// graph op against the same ops kept separate and plain, and finite differences.
final class FusedBatchNormTailTests: XCTestCase {
    func testFusedKernelMatchesTheComposition() {
        var rng = RandomState(seed: 31)
        for block in [8, 16] {
            let (n, c, plane) = (3, 2 * block, 29)
            let count = n * c * plane
            let x = (0..<count).map { _ in 4 * rng.nextFloat() - 1 }, dy = (0..<count).map { _ in 2 * rng.nextFloat() - 1 }
            let r = (0..<count).map { _ in 2 * rng.nextFloat() - 1 }
            let gamma = (0..<c).map { _ in 0.5 + rng.nextFloat() }, beta = (0..<c).map { _ in rng.nextFloat() - 0.5 }
            for (residual, relu) in [(false, true), (true, false), (true, true)] {
                // Reference: the plain normalisation, then + r and ReLU; backward through the mask by hand.
                var mean = [Float](repeating: 0, count: c), invStd = mean, rm = mean, rv = [Float](repeating: 1, count: c)
                var z = [Float](repeating: 0, count: count)
                BlockedBatchNormKernel.forwardTraining(&z, x, gamma: gamma, beta: beta, runningMean: &rm, runningVar: &rv,
                                                       savedMean: &mean, savedInvStd: &invStd, batch: n, channels: c, plane: plane,
                                                       block: block, momentum: 0.1, eps: 1e-5)
                if residual { for i in 0..<count { z[i] += r[i] } }
                let expected = relu ? z.map { max($0, 0) } : z
                let dz = relu ? (0..<count).map { expected[$0] > 0 ? dy[$0] : 0 } : dy
                var dx = [Float](repeating: 0, count: count), dgamma = [Float](repeating: 0, count: c), dbeta = dgamma
                BlockedBatchNormKernel.backward(dx: &dx, dgamma: &dgamma, dbeta: &dbeta, dy: dz, x: x, gamma: gamma, savedMean: mean,
                                                savedInvStd: invStd, batch: n, channels: c, plane: plane, block: block)

                var y = [Float](repeating: .nan, count: count), fMean = mean, fInvStd = invStd
                var frm = [Float](repeating: 0, count: c), frv = [Float](repeating: 1, count: c)
                r.withUnsafeBufferPointer { rp in
                    BlockedBatchNormKernel.forwardTraining(&y, x, gamma: gamma, beta: beta, runningMean: &frm, runningVar: &frv,
                                                           savedMean: &fMean, savedInvStd: &fInvStd, batch: n, channels: c, plane: plane,
                                                           block: block, momentum: 0.1, eps: 1e-5,
                                                           epilogue: .init(residual: residual ? rp.baseAddress : nil, relu: relu))
                }
                var fdx = [Float](repeating: .nan, count: count), fdz = fdx
                var fdgamma = [Float](repeating: 0, count: c), fdbeta = fdgamma
                y.withUnsafeBufferPointer { yp in
                    fdz.withUnsafeMutableBufferPointer { dzp in
                        BlockedBatchNormKernel.backward(dx: &fdx, dgamma: &fdgamma, dbeta: &fdbeta, dy: dy, x: x, gamma: gamma,
                                                        savedMean: fMean, savedInvStd: fInvStd, batch: n, channels: c, plane: plane,
                                                        block: block, reluOutput: relu ? yp.baseAddress : nil,
                                                        dz: residual ? dzp.baseAddress : nil)
                    }
                }
                let label = "block \(block), residual \(residual), relu \(relu)"
                XCTAssertEqual(y, expected, "y, \(label)")
                XCTAssertEqual(fdx, dx, "dx, \(label)")
                XCTAssertEqual(fdgamma, dgamma, "dgamma, \(label)")
                XCTAssertEqual(fdbeta, dbeta, "dbeta, \(label)")
                XCTAssertEqual(frm, rm, "running mean, \(label)")
                if residual { XCTAssertEqual(fdz, dz, "dz, \(label)") }
            }
        }
    }

    /// A residual block: relu(bn1(conv1(x))) → relu(bn2(conv2(·)) + skip), where the skip also
    /// feeds a second branch (its gradient arrives twice). Fused on blocked values vs plain ops.
    func testFusedGraphOpMatchesSeparatePlainOps() throws {
        guard BlockedLayout.block > 0 else { throw XCTSkip("oneDNN's training convolutions use no channel-blocked layout on this CPU") }
        var rng = RandomState(seed: 8)
        let channels = BlockedLayout.block
        let x = Tensor(uniform: [3, channels, 9, 9], low: -1, high: 1, rng: &rng)
        let shapes: [[Int]] = [[channels, channels, 3, 3], [channels], [channels], [channels, channels, 3, 3], [channels], [channels],
                               [channels, channels, 1, 1], [4, channels], [4]]
        let initial = shapes.map { Tensor(uniform: $0, low: -0.5, high: 0.5, rng: &rng) }

        func step(blocked: Bool) throws -> [[Float]] {
            let graph = Graph()
            graph.useBlockedLayout = blocked
            let input = Variable(x.copy(), requiresGrad: true)
            let p = initial.map { Variable($0.copy(), requiresGrad: true) }
            let skip = try graph.conv2d(input, weight: p[6], bias: nil)  // blocked when the graph uses the layout
            func bn(_ v: Variable, _ i: Int, residual: Variable? = nil) throws -> Variable {
                try graph.batchNorm(v, gamma: p[i], beta: p[i + 1], runningMean: Tensor(zeros: [channels]),
                                    runningVar: Tensor(repeating: 1, shape: [channels]), residual: residual, activation: .relu)
            }
            let h = try bn(try graph.conv2d(skip, weight: p[0], bias: nil, padding: (1, 1)), 1)
            let out = try bn(try graph.conv2d(h, weight: p[3], bias: nil, padding: (1, 1)), 4, residual: skip)
            if blocked {
                XCTAssertNotNil(skip.blocked, "the skip should be blocked for the fused path")
                XCTAssertNotNil(out.blocked, "the fused tail should write the blocked layout")
            }
            let logits = try graph.linear(try graph.reshape(try graph.globalAvgPool(out), [3, channels]), weight: p[7], bias: p[8])
            let loss = try graph.crossEntropy(logits, targets: [0, 2, 3])
            graph.backward(loss)
            return [loss.value.scalars, out.value.scalars, try XCTUnwrap(input.grad, "dx").scalars] + (try p.map { try XCTUnwrap($0.grad, "a parameter's gradient").scalars })
        }
        let fused = try step(blocked: true), reference = try step(blocked: false)
        let names = ["loss", "output", "dx"] + (0..<shapes.count).map { "d parameter \($0)" }
        for (name, (a, r)) in zip(names, zip(fused, reference)) {
            let scale = max(1e-3, r.map(abs).max() ?? 1)
            let worst = zip(a, r).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst / scale, 1e-4, name)
        }
    }

    /// d loss / d gamma, beta and the residual of the fused op against central differences.
    func testFusedGraphOpAgainstFiniteDifferences() throws {
        guard BlockedLayout.block > 0 else { throw XCTSkip("oneDNN's training convolutions use no channel-blocked layout on this CPU") }
        var rng = RandomState(seed: 12)
        let channels = BlockedLayout.block
        let x = Tensor(uniform: [2, channels, 5, 5], low: -1, high: 1, rng: &rng)
        let w = Tensor(uniform: [channels, channels, 3, 3], low: -0.4, high: 0.4, rng: &rng)
        let wr = Tensor(uniform: [channels, channels, 1, 1], low: -0.4, high: 0.4, rng: &rng)
        let probe = Tensor(uniform: [2, channels, 5, 5], low: -1, high: 1, rng: &rng)
        let gamma0 = Tensor(uniform: [channels], low: 0.5, high: 1.5, rng: &rng), beta0 = Tensor(uniform: [channels], low: -0.3, high: 0.3, rng: &rng)

        // loss = Σ probe · relu(bn(conv(x)) + conv1x1(x)), in Double around the evaluation point.
        func evaluate(gamma: Tensor, beta: Tensor, residualWeight: Tensor) throws -> (loss: Double, grads: [[Float]]) {
            let graph = Graph()
            let input = Variable(x.copy(), requiresGrad: false)
            let g = Variable(gamma.copy(), requiresGrad: true), b = Variable(beta.copy(), requiresGrad: true)
            let wv = Variable(w.copy(), requiresGrad: true), wrv = Variable(residualWeight.copy(), requiresGrad: true)
            let skip = try graph.conv2d(input, weight: wrv, bias: nil)
            let y = try graph.batchNorm(try graph.conv2d(input, weight: wv, bias: nil, padding: (1, 1)), gamma: g, beta: b,
                                        runningMean: Tensor(zeros: [channels]), runningVar: Tensor(repeating: 1, shape: [channels]),
                                        residual: skip, activation: .relu)
            XCTAssertNotNil(y.blocked, "the fused path should run")
            // Seeding every element with 1 back-propagates their sum.
            let terms = try graph.mul(y, Variable(probe.copy(), requiresGrad: false))
            graph.backward(terms)
            return (terms.value.scalars.reduce(0.0) { $0 + Double($1) }, try [g, b, wrv].map { try XCTUnwrap($0.grad, "a parameter's gradient").scalars })
        }
        let analytic = try evaluate(gamma: gamma0, beta: beta0, residualWeight: wr).grads
        // A small step: a pre-activation within h of ReLU's kink bends the difference (with
        // 1e-2, AVX2's 8-channel blocks put one there: beta[1] 1.757 numeric vs 2.102 exact).
        let h: Float = 1e-3
        for (which, index) in [(0, 0), (0, channels - 1), (1, 1), (2, 3), (2, channels * channels - 1)] {
            func shifted(_ d: Float) throws -> Double {
                let g = gamma0.copy(), b = beta0.copy(), r = wr.copy()
                [g, b, r][which].pointer[index] += d
                return try evaluate(gamma: g, beta: b, residualWeight: r).loss
            }
            let numeric = (try shifted(h) - shifted(-h)) / Double(2 * h)
            let a = Double(analytic[which][index])
            XCTAssertEqual(a, numeric, accuracy: 2e-2 * max(1, abs(numeric)), "parameter \(which)[\(index)]")
        }
    }
}
