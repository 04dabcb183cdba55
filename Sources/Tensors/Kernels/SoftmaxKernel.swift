import Foundation

/// Row-wise softmax / log-softmax over (rows, classes) and cross-entropy with label
/// smoothing, forward and backward side by side.
public enum SoftmaxKernel {
    public static func softmax(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, classes: Int) {
        for r in 0..<rows {
            let p = x + r * classes, q = y + r * classes
            var mx = -Float.infinity
            for c in 0..<classes { mx = max(mx, p[c]) }
            var s: Float = 0
            for c in 0..<classes { q[c] = expf(p[c] - mx); s += q[c] }
            let inv = 1 / s
            for c in 0..<classes { q[c] *= inv }
        }
    }

    /// dx = y ⊙ (dy − Σ dy·y)
    public static func softmaxBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ y: UnsafePointer<Float>,
                                       rows: Int, classes: Int) {
        for r in 0..<rows {
            let g = dy + r * classes, s = y + r * classes, d = dx + r * classes
            var dot: Float = 0
            for c in 0..<classes { dot += g[c] * s[c] }
            for c in 0..<classes { d[c] = s[c] * (g[c] - dot) }
        }
    }

    public static func logSoftmax(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, classes: Int) {
        for r in 0..<rows {
            let p = x + r * classes, q = y + r * classes
            var mx = -Float.infinity
            for c in 0..<classes { mx = max(mx, p[c]) }
            var s: Float = 0
            for c in 0..<classes { s += expf(p[c] - mx) }
            let lse = mx + logf(s)
            for c in 0..<classes { q[c] = p[c] - lse }
        }
    }

    /// dx = dy − softmax · Σ dy   (y is the log-softmax output)
    public static func logSoftmaxBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ y: UnsafePointer<Float>,
                                          rows: Int, classes: Int) {
        for r in 0..<rows {
            let g = dy + r * classes, s = y + r * classes, d = dx + r * classes
            var sum: Float = 0
            for c in 0..<classes { sum += g[c] }
            for c in 0..<classes { d[c] = g[c] - expf(s[c]) * sum }
        }
    }

    /// Mean cross-entropy of logits against integer targets with label smoothing ε: the target
    /// distribution is (1−ε)·onehot + ε/classes. Writes probabilities for backward.
    public static func crossEntropy(logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, probabilities: UnsafeMutablePointer<Float>,
                                    rows: Int, classes: Int, smoothing: Float) -> Float {
        var total: Double = 0
        let off = smoothing / Float(classes), on = 1 - smoothing + off
        for r in 0..<rows {
            let p = logits + r * classes, q = probabilities + r * classes
            var mx = -Float.infinity
            for c in 0..<classes { mx = max(mx, p[c]) }
            var s: Float = 0
            for c in 0..<classes { q[c] = expf(p[c] - mx); s += q[c] }
            let lse = mx + logf(s)
            let inv = 1 / s
            var loss: Float = 0
            let t = Int(targets[r])
            for c in 0..<classes {
                q[c] *= inv
                loss -= (c == t ? on : off) * (p[c] - lse)
            }
            total += Double(loss)
        }
        return Float(total / Double(rows))
    }

    /// dlogits = scale · (p − target distribution) / rows
    public static func crossEntropyBackward(_ dlogits: UnsafeMutablePointer<Float>, probabilities: UnsafePointer<Float>,
                                            targets: UnsafePointer<Int32>, rows: Int, classes: Int, smoothing: Float, scale: Float) {
        let off = smoothing / Float(classes), on = 1 - smoothing + off
        let k = scale / Float(rows)
        for r in 0..<rows {
            let q = probabilities + r * classes, d = dlogits + r * classes
            let t = Int(targets[r])
            for c in 0..<classes { d[c] = k * (q[c] - (c == t ? on : off)) }
        }
    }
}
