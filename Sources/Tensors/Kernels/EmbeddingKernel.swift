import Foundation

/// Kernels of embedding models and metric learning, forward and backward side by side:
/// row L2 normalisation, GeM and global max pooling, the ArcFace margin, and the batch-hard
/// triplet and supervised-contrastive losses over a similarity matrix.
enum EmbeddingKernel {
    static let normEpsilon: Float = 1e-12

    // MARK: L2 normalisation of rows: y = x / max(‖x‖, ε)

    static func l2Normalize(_ y: UnsafeMutablePointer<Float>, _ norms: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                            rows: Int, width: Int) {
        for r in 0..<rows {
            let row = x + r * width
            var s: Float = 0
            for j in 0..<width { s += row[j] * row[j] }
            let n = max(s.squareRoot(), normEpsilon)
            norms[r] = n
            for j in 0..<width { y[r * width + j] = row[j] / n }
        }
    }

    /// dx = (dy − y·(y·dy)) / ‖x‖
    static func l2NormalizeBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ y: UnsafePointer<Float>,
                                    _ norms: UnsafePointer<Float>, rows: Int, width: Int) {
        for r in 0..<rows {
            let o = r * width
            var dot: Float = 0
            for j in 0..<width { dot += y[o + j] * dy[o + j] }
            for j in 0..<width { dx[o + j] = (dy[o + j] - y[o + j] * dot) / norms[r] }
        }
    }

    // MARK: GeM pooling: y = (mean max(x, ε)^p)^(1/p) over each plane

    static func gem(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, plane: Int, p: Float, eps: Float) {
        for r in 0..<rows {
            let v = x + r * plane
            var s: Float = 0
            for i in 0..<plane { s += powf(max(v[i], eps), p) }
            y[r] = powf(s / Float(plane), 1 / p)
        }
    }

    /// dx = y^(1−p) · max(x, ε)^(p−1) / plane where x > ε, else 0.
    static func gemBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ y: UnsafePointer<Float>,
                            _ x: UnsafePointer<Float>, rows: Int, plane: Int, p: Float, eps: Float) {
        for r in 0..<rows {
            let scale = dy[r] * powf(max(y[r], eps), 1 - p) / Float(plane)
            for i in 0..<plane {
                let v = x[r * plane + i]
                dx[r * plane + i] = v > eps ? scale * powf(v, p - 1) : 0
            }
        }
    }

    // MARK: global max pooling over each plane

    static func globalMax(_ y: UnsafeMutablePointer<Float>, _ argmax: UnsafeMutablePointer<Int32>, _ x: UnsafePointer<Float>,
                          rows: Int, plane: Int) {
        for r in 0..<rows {
            var best = x[r * plane], at = 0
            for i in 1..<max(plane, 1) where x[r * plane + i] > best { best = x[r * plane + i]; at = i }
            y[r] = best
            argmax[r] = Int32(at)
        }
    }

    static func globalMaxBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ argmax: UnsafePointer<Int32>,
                                  rows: Int, plane: Int) {
        dx.update(repeating: 0, count: rows * plane)
        for r in 0..<rows { dx[r * plane + Int(argmax[r])] = dy[r] }
    }

    // MARK: ArcFace: logits s·cos θ, with s·cos(θ + m) for the target class

    struct ArcMargin {
        let scale: Float, margin: Float
        var cosM: Float { cosf(margin) }
        var sinM: Float { sinf(margin) }
        /// Past θ = π − m, cos(θ + m) stops decreasing; insightface's fallback is cos θ − m·sin m.
        var threshold: Float { cosf(Float.pi - margin) }
        var fallback: Float { sinf(Float.pi - margin) * margin }
    }

    static func arcFace(_ y: UnsafeMutablePointer<Float>, _ cosine: UnsafePointer<Float>, targets: UnsafePointer<Int32>,
                        rows: Int, classes: Int, _ a: ArcMargin) {
        for r in 0..<rows {
            for j in 0..<classes { y[r * classes + j] = a.scale * cosine[r * classes + j] }
            let t = r * classes + Int(targets[r])
            let c = min(max(cosine[t], -1 + 1e-7), 1 - 1e-7)
            let sine = (1 - c * c).squareRoot()
            y[t] = a.scale * (c > a.threshold ? c * a.cosM - sine * a.sinM : c - a.fallback)
        }
    }

    static func arcFaceBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ cosine: UnsafePointer<Float>,
                                targets: UnsafePointer<Int32>, rows: Int, classes: Int, _ a: ArcMargin) {
        for r in 0..<rows {
            for j in 0..<classes { dx[r * classes + j] = a.scale * dy[r * classes + j] }
            let t = r * classes + Int(targets[r])
            let raw = cosine[t]
            let c = min(max(raw, -1 + 1e-7), 1 - 1e-7)
            if raw != c { dx[t] = 0; continue }  // clamped: flat
            let sine = (1 - c * c).squareRoot()
            dx[t] = a.scale * dy[t] * (c > a.threshold ? a.cosM + a.sinM * c / sine : 1)
        }
    }

    // MARK: batch-hard triplet loss on cosine similarities (unit embeddings)

    /// Mean over anchors with a positive and a negative of max(0, d(a,p) − d(a,n) + margin),
    /// d = √(2 − 2s); writes d loss/d s into `grad` (n × n). Returns the loss.
    static func tripletBatchHard(_ sim: UnsafePointer<Float>, labels: UnsafePointer<Int32>, n: Int, margin: Float,
                                 grad: UnsafeMutablePointer<Float>?) -> Float {
        grad?.update(repeating: 0, count: n * n)
        @inline(__always) func distance(_ s: Float) -> Float { max(2 - 2 * s, 1e-12).squareRoot() }
        var total: Float = 0
        var anchors = 0
        var terms: [(Int, Int, Int)] = []
        for i in 0..<n {
            var hardPositive = -1, hardNegative = -1
            for j in 0..<n where j != i {
                let s = sim[i * n + j]
                if labels[j] == labels[i] {
                    if hardPositive < 0 || s < sim[i * n + hardPositive] { hardPositive = j }  // farthest positive
                } else if hardNegative < 0 || s > sim[i * n + hardNegative] { hardNegative = j }  // closest negative
            }
            guard hardPositive >= 0, hardNegative >= 0 else { continue }
            anchors += 1
            let l = distance(sim[i * n + hardPositive]) - distance(sim[i * n + hardNegative]) + margin
            if l > 0 { total += l; terms.append((i, hardPositive, hardNegative)) }
        }
        guard anchors > 0 else { return 0 }
        if let grad {
            let w = 1 / Float(anchors)
            for (i, p, q) in terms {
                // dd/ds = −1/d
                grad[i * n + p] += w * (-1 / distance(sim[i * n + p]))
                grad[i * n + q] -= w * (-1 / distance(sim[i * n + q]))
            }
        }
        return total / Float(anchors)
    }

    // MARK: supervised contrastive (NT-Xent with labels) on similarities

    /// Mean over anchors with positives of −mean_p log softmax_{a≠i}(s_ia / τ)_p; writes
    /// d loss/d s into `grad`. Returns the loss.
    static func supervisedContrastive(_ sim: UnsafePointer<Float>, labels: UnsafePointer<Int32>, n: Int, temperature: Float,
                                      grad: UnsafeMutablePointer<Float>?) -> Float {
        grad?.update(repeating: 0, count: n * n)
        var rows: [(Int, Int)] = []
        for i in 0..<n {
            var positives = 0
            for j in 0..<n where j != i && labels[j] == labels[i] { positives += 1 }
            if positives > 0 { rows.append((i, positives)) }
        }
        guard !rows.isEmpty else { return 0 }
        var total: Float = 0
        var probabilities = [Float](repeating: 0, count: n)
        for (i, positives) in rows {
            var top = -Float.infinity
            for j in 0..<n where j != i { top = max(top, sim[i * n + j] / temperature) }
            var sum: Float = 0
            for j in 0..<n where j != i {
                probabilities[j] = expf(sim[i * n + j] / temperature - top)
                sum += probabilities[j]
            }
            let logSum = logf(sum) + top
            var loss: Float = 0
            for j in 0..<n where j != i && labels[j] == labels[i] { loss -= sim[i * n + j] / temperature - logSum }
            total += loss / Float(positives)
            if let grad {
                let w = 1 / (Float(rows.count) * temperature)
                for j in 0..<n where j != i {
                    let target: Float = labels[j] == labels[i] ? 1 / Float(positives) : 0
                    grad[i * n + j] = w * (probabilities[j] / sum - target)
                }
            }
        }
        return total / Float(rows.count)
    }
}
