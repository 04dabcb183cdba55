import XCTest
@testable import Tensors

final class ConvKernelTests: XCTestCase {
    /// Odd sizes, strides, padding, dilation, groups (depthwise included) and 1×1.
    static let cases: [ConvGeometry] = [
        ConvGeometry(batch: 2, inChannels: 3, height: 7, width: 5, outChannels: 4, kernel: (3, 3), padding: (1, 1)),
        ConvGeometry(batch: 3, inChannels: 4, height: 9, width: 8, outChannels: 6, kernel: (3, 3), stride: (2, 2), padding: (1, 1)),
        ConvGeometry(batch: 1, inChannels: 4, height: 6, width: 7, outChannels: 4, kernel: (3, 3), padding: (2, 2), dilation: (2, 2)),
        ConvGeometry(batch: 2, inChannels: 6, height: 5, width: 5, outChannels: 6, kernel: (3, 3), padding: (1, 1), groups: 6),
        ConvGeometry(batch: 2, inChannels: 4, height: 6, width: 6, outChannels: 6, kernel: (3, 1), padding: (1, 0), groups: 2),
        ConvGeometry(batch: 3, inChannels: 5, height: 4, width: 3, outChannels: 7, kernel: (1, 1)),
        ConvGeometry(batch: 2, inChannels: 4, height: 8, width: 8, outChannels: 3, kernel: (1, 1), stride: (2, 2)),
        ConvGeometry(batch: 1, inChannels: 2, height: 11, width: 13, outChannels: 3, kernel: (5, 5), stride: (3, 2), padding: (2, 1)),
        // Large enough to take the threaded paths: depthwise stride 2 split by batch and by rows.
        ConvGeometry(batch: 8, inChannels: 96, height: 32, width: 32, outChannels: 96, kernel: (3, 3), stride: (2, 2),
                     padding: (1, 1), groups: 96),
        ConvGeometry(batch: 1, inChannels: 192, height: 64, width: 64, outChannels: 192, kernel: (3, 3), stride: (2, 2),
                     padding: (1, 1), groups: 192),
        ConvGeometry(batch: 1, inChannels: 64, height: 40, width: 40, outChannels: 64, kernel: (3, 3), padding: (1, 1), groups: 64),
    ]

    func testForwardMatchesNaiveReference() throws {
        var rng = RandomState(seed: 1)
        for g in Self.cases {
            try g.validate(op: "test")
            let x = randomArray(g.batch * g.inChannels * g.inPlane, &rng)
            let w = randomArray(g.weightCount, &rng)
            let b = randomArray(g.outChannels, &rng)
            var y = [Float](repeating: .nan, count: g.batch * g.outChannels * g.outPlane)
            Conv2dKernel.forward(&y, x, w, b, g)
            assertClose(y, Reference.conv2d(x, w, b, g), tol: 1e-5, "\(g)")
        }
    }

    func testBackwardMatchesNaiveReference() throws {
        var rng = RandomState(seed: 2)
        for g in Self.cases {
            let x = randomArray(g.batch * g.inChannels * g.inPlane, &rng)
            let w = randomArray(g.weightCount, &rng)
            let dy = randomArray(g.batch * g.outChannels * g.outPlane, &rng)
            var dx = [Float](repeating: .nan, count: x.count)
            var dw = [Float](repeating: 0, count: w.count)
            var db = [Float](repeating: 0, count: g.outChannels)
            Conv2dKernel.backward(dInput: &dx, dWeight: &dw, dBias: &db, dOut: dy, input: x, weight: w, g)
            let (rx, rw, rb) = Reference.conv2dBackward(x, w, dy, g)
            assertClose(dx, rx, tol: 1e-5, "dx \(g)")
            assertClose(dw, rw, tol: 1e-5, "dw \(g)")
            assertClose(db, rb, tol: 1e-5, "db \(g)")
        }
    }

    func testBatchOneColumnSplitPathMatches() throws {
        // With more threads than images the forward splits GEMM columns instead of images.
        let saved = Parallel.threads
        Parallel.setThreads(2)
        defer { Parallel.setThreads(saved) }
        var rng = RandomState(seed: 4)
        let g = ConvGeometry(batch: 1, inChannels: 8, height: 16, width: 16, outChannels: 8, kernel: (3, 3), padding: (1, 1))
        let x = randomArray(g.batch * g.inChannels * g.inPlane, &rng)
        let w = randomArray(g.weightCount, &rng)
        var y = [Float](repeating: .nan, count: g.outChannels * g.outPlane)
        Conv2dKernel.forward(&y, x, w, nil, g)
        assertClose(y, Reference.conv2d(x, w, nil, g), tol: 1e-5)
    }

    func testGeometryErrors() {
        XCTAssertThrowsError(try ConvGeometry(batch: 1, inChannels: 3, height: 4, width: 4, outChannels: 4, kernel: (3, 3), groups: 2).validate(op: "conv2d"))
        XCTAssertThrowsError(try ConvGeometry(batch: 1, inChannels: 3, height: 2, width: 2, outChannels: 4, kernel: (5, 5)).validate(op: "conv2d"))
    }
}
