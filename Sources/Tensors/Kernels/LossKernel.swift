import Foundation

/// Elementwise losses (means over elements), forward and backward side by side.
public enum LossKernel {
    /// mean(max(x,0) − x·t + log(1 + e^{−|x|})), numerically stable.
    public static func bceWithLogits(_ x: UnsafePointer<Float>, _ t: UnsafePointer<Float>, count: Int) -> Float {
        var s: Double = 0
        for i in 0..<count { s += Double(max(x[i], 0) - x[i] * t[i] + log1pf(expf(-abs(x[i])))) }
        return Float(s / Double(max(count, 1)))
    }

    public static func bceWithLogitsBackward(_ dx: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ t: UnsafePointer<Float>,
                                             count: Int, scale: Float) {
        let k = scale / Float(max(count, 1))
        for i in 0..<count { dx[i] = k * (1 / (1 + expf(-x[i])) - t[i]) }
    }

    /// mean of 0.5·d²/β for |d| < β, else |d| − 0.5·β, with d = x − t.
    public static func smoothL1(_ x: UnsafePointer<Float>, _ t: UnsafePointer<Float>, count: Int, beta: Float) -> Float {
        var s: Double = 0
        for i in 0..<count {
            let d = abs(x[i] - t[i])
            s += Double(d < beta ? 0.5 * d * d / beta : d - 0.5 * beta)
        }
        return Float(s / Double(max(count, 1)))
    }

    public static func smoothL1Backward(_ dx: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ t: UnsafePointer<Float>,
                                        count: Int, beta: Float, scale: Float) {
        let k = scale / Float(max(count, 1))
        for i in 0..<count {
            let d = x[i] - t[i]
            dx[i] = k * (abs(d) < beta ? d / beta : (d > 0 ? 1 : -1))
        }
    }

    /// mean |x − t| (subgradient 0 at equality).
    public static func l1(_ x: UnsafePointer<Float>, _ t: UnsafePointer<Float>, count: Int) -> Float {
        var s: Double = 0
        for i in 0..<count { s += Double(abs(x[i] - t[i])) }
        return Float(s / Double(max(count, 1)))
    }

    public static func l1Backward(_ dx: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ t: UnsafePointer<Float>,
                                  count: Int, scale: Float) {
        let k = scale / Float(max(count, 1))
        for i in 0..<count {
            let d = x[i] - t[i]
            dx[i] = d > 0 ? k : (d < 0 ? -k : 0)
        }
    }
}
