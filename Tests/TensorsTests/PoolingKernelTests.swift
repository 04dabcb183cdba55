import XCTest
@testable import Tensors

/// Max pooling against a naive window scan (bounds checked per tap): values and the argmax the
/// backward pass routes gradients to, for SPP's wide padded windows, strides and dilation.
final class PoolingKernelTests: XCTestCase {
    func testMaxForwardMatchesNaiveScan() {
        var rng = RandomState(seed: 9)
        let cases: [(h: Int, w: Int, k: Int, s: Int, p: Int, d: Int)] = [
            (4, 4, 13, 1, 6, 1), (4, 4, 5, 1, 2, 1), (9, 7, 9, 1, 4, 1), (8, 8, 3, 2, 1, 1), (7, 9, 2, 2, 0, 1), (9, 9, 3, 1, 2, 2),
        ]
        for c in cases {
            let g = ConvGeometry(batch: 2, inChannels: 3, height: c.h, width: c.w, outChannels: 3, kernel: (c.k, c.k), stride: (c.s, c.s),
                                 padding: (c.p, c.p), dilation: (c.d, c.d), groups: 3)
            // Few distinct values, so ties happen and the first maximum in scan order must win.
            let x = (0..<2 * 3 * c.h * c.w).map { _ in Float(rng.nextInt(7)) }
            let outCount = 2 * 3 * g.outHeight * g.outWidth
            var y = [Float](repeating: 0, count: outCount), argmax = [Int32](repeating: 0, count: outCount)
            PoolingKernel.maxForward(&y, argmax: &argmax, x, g)
            for plane in 0..<6 {
                for oy in 0..<g.outHeight {
                    for ox in 0..<g.outWidth {
                        var best = -Float.infinity, at: Int32 = -1
                        for ki in 0..<c.k {
                            for kj in 0..<c.k {
                                let iy = oy * c.s - c.p + ki * c.d, ix = ox * c.s - c.p + kj * c.d
                                guard iy >= 0, iy < c.h, ix >= 0, ix < c.w else { continue }
                                let v = x[plane * c.h * c.w + iy * c.w + ix]
                                if v > best || at < 0 { best = v; at = Int32(iy * c.w + ix) }
                            }
                        }
                        let o = (plane * g.outHeight + oy) * g.outWidth + ox
                        XCTAssertEqual(y[o], best, "\(c) at \(plane), \(oy), \(ox)")
                        XCTAssertEqual(argmax[o], at, "\(c) argmax at \(plane), \(oy), \(ox)")
                    }
                }
            }
        }
    }
}
