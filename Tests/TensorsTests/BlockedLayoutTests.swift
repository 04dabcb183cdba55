import XCTest
@testable import Tensors

/// The channel-blocked layout of training graphs: the reorders, batch norm's blocked kernels
/// against the plain ones, and a small residual network whose step on blocked values matches
/// the same step kept plain — values, the loss and every gradient, including a blocked value
/// that plain ops also read (its gradient arrives in both layouts).
final class BlockedLayoutTests: XCTestCase {
    func testReordersPlaceEachElementAndRoundTrip() {
        for block in [8, 16] {
            let (n, c, plane) = (2, 2 * block, 5)
            let plain = (0..<n * c * plane).map(Float.init)
            var blocked = [Float](repeating: -1, count: plain.count), back = blocked
            BlockedLayout.toBlocked(&blocked, plain, batch: n, channels: c, plane: plane, block: block)
            BlockedLayout.toPlain(&back, blocked, batch: n, channels: c, plane: plane, block: block)
            XCTAssertEqual(back, plain, "block \(block)")
            for (b, ch, s) in [(0, 0, 0), (1, block + 3, 4), (0, c - 1, 2)] {
                let blockedIndex = ((b * (c / block) + ch / block) * plane + s) * block + ch % block
                XCTAssertEqual(blocked[blockedIndex], plain[(b * c + ch) * plane + s], "block \(block) at (\(b), \(ch), \(s))")
            }
        }
    }

    func testBlockedBatchNormMatchesThePlainKernel() {
        var rng = RandomState(seed: 21)
        for block in [8, 16] {
            let (n, c, plane) = (3, 2 * block, 37)
            let count = n * c * plane
            let x = (0..<count).map { _ in 4 * rng.nextFloat() - 1 }, dy = (0..<count).map { _ in 2 * rng.nextFloat() - 1 }
            let gamma = (0..<c).map { _ in 0.5 + rng.nextFloat() }, beta = (0..<c).map { _ in rng.nextFloat() - 0.5 }
            func blocked(_ v: [Float]) -> [Float] {
                var out = v
                BlockedLayout.toBlocked(&out, v, batch: n, channels: c, plane: plane, block: block)
                return out
            }
            func plain(_ v: [Float]) -> [Float] {
                var out = v
                BlockedLayout.toPlain(&out, v, batch: n, channels: c, plane: plane, block: block)
                return out
            }
            struct Result { var y, dx, mean, invStd, runningMean, runningVar, dgamma, dbeta: [Float] }
            func run(blockedLayout: Bool) -> Result {
                var r = Result(y: [Float](repeating: 0, count: count), dx: [Float](repeating: 0, count: count),
                               mean: [Float](repeating: 0, count: c), invStd: [Float](repeating: 0, count: c),
                               runningMean: [Float](repeating: 0.1, count: c), runningVar: [Float](repeating: 1, count: c),
                               dgamma: [Float](repeating: 0.5, count: c), dbeta: [Float](repeating: -0.5, count: c))
                if blockedLayout {
                    let xb = blocked(x), dyb = blocked(dy)
                    BlockedBatchNormKernel.forwardTraining(&r.y, xb, gamma: gamma, beta: beta, runningMean: &r.runningMean,
                                                           runningVar: &r.runningVar, savedMean: &r.mean, savedInvStd: &r.invStd,
                                                           batch: n, channels: c, plane: plane, block: block, momentum: 0.1, eps: 1e-5)
                    BlockedBatchNormKernel.backward(dx: &r.dx, dgamma: &r.dgamma, dbeta: &r.dbeta, dy: dyb, x: xb, gamma: gamma,
                                                    savedMean: r.mean, savedInvStd: r.invStd, batch: n, channels: c, plane: plane,
                                                    block: block)
                    r.y = plain(r.y)
                    r.dx = plain(r.dx)
                } else {
                    BatchNormKernel.forwardTraining(&r.y, x, gamma: gamma, beta: beta, runningMean: &r.runningMean,
                                                    runningVar: &r.runningVar, savedMean: &r.mean, savedInvStd: &r.invStd,
                                                    batch: n, channels: c, plane: plane, momentum: 0.1, eps: 1e-5)
                    BatchNormKernel.backward(dx: &r.dx, dgamma: &r.dgamma, dbeta: &r.dbeta, dy: dy, x: x, gamma: gamma,
                                             savedMean: r.mean, savedInvStd: r.invStd, batch: n, channels: c, plane: plane)
                }
                return r
            }
            let a = run(blockedLayout: true), b = run(blockedLayout: false)
            for (name, u, v, tolerance) in [("y", a.y, b.y, Float(1e-5)), ("dx", a.dx, b.dx, 1e-5), ("mean", a.mean, b.mean, 1e-6),
                                             ("invStd", a.invStd, b.invStd, 1e-5), ("runningMean", a.runningMean, b.runningMean, 1e-6),
                                             ("runningVar", a.runningVar, b.runningVar, 1e-5), ("dgamma", a.dgamma, b.dgamma, 1e-4),
                                             ("dbeta", a.dbeta, b.dbeta, 1e-4)] {
                let worst = zip(u, v).map { abs($0 - $1) }.max() ?? 0
                XCTAssertLessThan(worst, tolerance, "\(name), block \(block)")
            }
        }
    }

    func testResidualNetworkStepMatchesThePlainGraph() throws {
        guard BlockedLayout.block > 0 else { throw XCTSkip("oneDNN's training convolutions use no channel-blocked layout on this CPU") }
        var rng = RandomState(seed: 4)
        let channels = 2 * BlockedLayout.block
        let x = Tensor(uniform: [4, 3, 12, 12], low: -1, high: 1, rng: &rng)
        let shapes: [[Int]] = [[channels, 3, 3, 3], [channels], [channels], [channels, channels, 3, 3], [channels], [channels],
                               [channels, channels, 3, 3], [channels], [channels], [5, channels], [5], [channels, 2 * channels, 1, 1]]
        let initial = shapes.map { Tensor(uniform: $0, low: -0.5, high: 0.5, rng: &rng) }
        let labels: [Int32] = [0, 3, 1, 4]

        func step(blocked: Bool) throws -> (values: [[Float]], graph: Graph) {
            let graph = Graph()
            graph.useBlockedLayout = blocked
            let input = Variable(x.copy(), requiresGrad: true)
            let p = initial.map { Variable($0.copy(), requiresGrad: true) }
            func bn(_ v: Variable, _ i: Int) throws -> Variable {
                try graph.batchNorm(v, gamma: p[i], beta: p[i + 1], runningMean: Tensor(zeros: [channels]),
                                    runningVar: Tensor(repeating: 1, shape: [channels]))
            }
            let stem = graph.relu(try bn(try graph.conv2d(input, weight: p[0], bias: nil, padding: (1, 1)), 1))
            let inner = graph.activation(try bn(try graph.conv2d(stem, weight: p[3], bias: nil, padding: (1, 1)), 4), .silu)
            let merged = try graph.add(inner, stem)  // both blocked: a blocked add
            // A blocked channel concatenation, narrowed back by a convolution.
            let joined = try graph.conv2d(try graph.concat([merged, inner], axis: 1), weight: p[11], bias: nil)
            let branch = try bn(try graph.conv2d(joined, weight: p[6], bias: nil, stride: (2, 2), padding: (1, 1)), 7)
            let residual = graph.relu(try graph.add(try graph.avgPool2d(stem, kernel: 2, stride: 2), branch))
            // `stem` feeds a convolution, the blocked add and a plain pooling (gradients in both
            // layouts); `branch` a mixed add (read plain); `residual` is plain.
            let logits = try graph.linear(try graph.reshape(try graph.globalAvgPool(residual), [4, channels]), weight: p[9], bias: p[10])
            let loss = try graph.crossEntropy(logits, targets: labels)
            graph.backward(loss)
            if blocked {
                XCTAssertNotNil(stem.blocked, "the stem's output should stay blocked")
                XCTAssertNotNil(inner.blocked, "the inner block's output should stay blocked")
                XCTAssertNotNil(merged.blocked, "an add of two blocked values should stay blocked")
                XCTAssertNotNil(joined.blocked, "a convolution of a blocked concatenation should stay blocked")
            } else {
                XCTAssertNil(stem.blocked)
            }
            return ([loss.value.scalars, residual.value.scalars, input.grad!.scalars] + p.map { $0.grad!.scalars }, graph)
        }
        let fast = try step(blocked: true).values, reference = try step(blocked: false).values
        let names = ["loss", "residual", "dx"] + (0..<shapes.count).map { "d parameter \($0)" }
        for (name, (a, r)) in zip(names, zip(fast, reference)) {
            let scale = max(1e-3, r.map(abs).max() ?? 1)
            let worst = zip(a, r).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst / scale, 1e-4, name)
        }
    }
}
