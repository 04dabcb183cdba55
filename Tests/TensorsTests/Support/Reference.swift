import Foundation
@testable import Tensors

/// Naive references (direct loops, Double accumulation) that the fast kernels are checked against.
enum Reference {
    static func conv2d(_ x: [Float], _ w: [Float], _ b: [Float]?, _ g: ConvGeometry) -> [Float] {
        var y = [Float](repeating: 0, count: g.batch * g.outChannels * g.outPlane)
        for n in 0..<g.batch {
            for o in 0..<g.outChannels {
                let grp = o / g.outPerGroup
                for oy in 0..<g.outHeight {
                    for ox in 0..<g.outWidth {
                        var s: Double = Double(b?[o] ?? 0)
                        for c in 0..<g.inPerGroup {
                            let ic = grp * g.inPerGroup + c
                            for ki in 0..<g.kernelH {
                                for kj in 0..<g.kernelW {
                                    let iy = oy * g.strideH - g.padH + ki * g.dilationH
                                    let ix = ox * g.strideW - g.padW + kj * g.dilationW
                                    guard iy >= 0, iy < g.height, ix >= 0, ix < g.width else { continue }
                                    s += Double(x[((n * g.inChannels + ic) * g.height + iy) * g.width + ix])
                                        * Double(w[((o * g.inPerGroup + c) * g.kernelH + ki) * g.kernelW + kj])
                                }
                            }
                        }
                        y[((n * g.outChannels + o) * g.outHeight + oy) * g.outWidth + ox] = Float(s)
                    }
                }
            }
        }
        return y
    }

    /// (dx, dw, db) of conv2d for upstream gradient dy, by the same direct loops.
    static func conv2dBackward(_ x: [Float], _ w: [Float], _ dy: [Float], _ g: ConvGeometry) -> ([Float], [Float], [Float]) {
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count)
        var db = [Double](repeating: 0, count: g.outChannels)
        for n in 0..<g.batch {
            for o in 0..<g.outChannels {
                let grp = o / g.outPerGroup
                for oy in 0..<g.outHeight {
                    for ox in 0..<g.outWidth {
                        let d = Double(dy[((n * g.outChannels + o) * g.outHeight + oy) * g.outWidth + ox])
                        db[o] += d
                        for c in 0..<g.inPerGroup {
                            let ic = grp * g.inPerGroup + c
                            for ki in 0..<g.kernelH {
                                for kj in 0..<g.kernelW {
                                    let iy = oy * g.strideH - g.padH + ki * g.dilationH
                                    let ix = ox * g.strideW - g.padW + kj * g.dilationW
                                    guard iy >= 0, iy < g.height, ix >= 0, ix < g.width else { continue }
                                    let xi = ((n * g.inChannels + ic) * g.height + iy) * g.width + ix
                                    let wi = ((o * g.inPerGroup + c) * g.kernelH + ki) * g.kernelW + kj
                                    dx[xi] += d * Double(w[wi])
                                    dw[wi] += d * Double(x[xi])
                                }
                            }
                        }
                    }
                }
            }
        }
        return (dx.map(Float.init), dw.map(Float.init), db.map(Float.init))
    }
}

func randomArray(_ count: Int, _ rng: inout RandomState, scale: Float = 1) -> [Float] {
    (0..<count).map { _ in scale * (rng.nextFloat() * 2 - 1) }
}

/// Max |a−b| / (|b| + 1e-3·maxabs) style closeness: true when every element is within `tol`
/// relative to the reference's scale.
func assertClose(_ a: [Float], _ b: [Float], tol: Float, _ message: @autoclosure () -> String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    precondition(a.count == b.count, "sizes differ")
    let scale = max(b.map(abs).max() ?? 0, 1e-6)
    var worst: Float = 0, at = 0
    for i in 0..<a.count {
        let e = abs(a[i] - b[i]) / scale
        if e > worst { worst = e; at = i }
    }
    if worst > tol {
        XCTFail("max relative error \(worst) at \(at): \(a[at]) vs \(b[at]) \(message())", file: file, line: line)
    }
}

import XCTest
