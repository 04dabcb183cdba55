/// Layer normalisation over the last axis of (rows, features), forward and backward.
public enum LayerNormKernel {
    public static func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
                               beta: UnsafePointer<Float>, savedMean: UnsafeMutablePointer<Float>,
                               savedInvStd: UnsafeMutablePointer<Float>, rows: Int, features: Int, eps: Float) {
        for r in 0..<rows {
            let p = x + r * features, q = y + r * features
            var mean: Float = 0
            for i in 0..<features { mean += p[i] }
            mean /= Float(features)
            var variance: Float = 0
            for i in 0..<features { let d = p[i] - mean; variance += d * d }
            variance /= Float(features)
            let invStd = 1 / (variance + eps).squareRoot()
            savedMean[r] = mean
            savedInvStd[r] = invStd
            for i in 0..<features { q[i] = (p[i] - mean) * invStd * gamma[i] + beta[i] }
        }
    }

    /// dx (overwritten); dgamma, dbeta accumulated.
    public static func backward(dx: UnsafeMutablePointer<Float>, dgamma: UnsafeMutablePointer<Float>, dbeta: UnsafeMutablePointer<Float>,
                                dy: UnsafePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
                                savedMean: UnsafePointer<Float>, savedInvStd: UnsafePointer<Float>, rows: Int, features: Int) {
        let n = Float(features)
        for r in 0..<rows {
            let p = x + r * features, g = dy + r * features, d = dx + r * features
            let mean = savedMean[r], invStd = savedInvStd[r]
            var sumG: Float = 0, sumGX: Float = 0
            for i in 0..<features {
                let xhat = (p[i] - mean) * invStd
                let gi = g[i] * gamma[i]
                sumG += gi
                sumGX += gi * xhat
                dgamma[i] += g[i] * xhat
                dbeta[i] += g[i]
            }
            for i in 0..<features {
                let xhat = (p[i] - mean) * invStd
                d[i] = invStd / n * (n * g[i] * gamma[i] - sumG - xhat * sumGX)
            }
        }
    }
}
