/// Batch normalisation over (N, C, plane) per channel, forward and backward side by side.
/// Training mode normalises with batch statistics and updates running ones
/// (running = (1-momentum)·running + momentum·batch, unbiased variance, as PyTorch).
public enum BatchNormKernel {
    /// Training forward. Saves per-channel mean and 1/sqrt(var+eps) for backward.
    public static func forwardTraining(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                                       gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                                       runningMean: UnsafeMutablePointer<Float>, runningVar: UnsafeMutablePointer<Float>,
                                       savedMean: UnsafeMutablePointer<Float>, savedInvStd: UnsafeMutablePointer<Float>,
                                       batch: Int, channels: Int, plane: Int, momentum: Float, eps: Float) {
        let m = batch * plane
        Parallel.forEachChunk(channels, minimumPerChunk: Parallel.rowsPerChunk(batch * plane)) { _, cs in
            for c in cs {
                var sum: Double = 0
                for b in 0..<batch {
                    let p = x + (b * channels + c) * plane
                    var s: Float = 0
                    for i in 0..<plane { s += p[i] }
                    sum += Double(s)
                }
                let mean = Float(sum / Double(m))
                var sq: Double = 0
                for b in 0..<batch {
                    let p = x + (b * channels + c) * plane
                    var s: Float = 0
                    for i in 0..<plane { let d = p[i] - mean; s += d * d }
                    sq += Double(s)
                }
                let variance = Float(sq / Double(m))
                let invStd = 1 / (variance + eps).squareRoot()
                savedMean[c] = mean
                savedInvStd[c] = invStd
                let unbiased = m > 1 ? variance * Float(m) / Float(m - 1) : variance
                runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mean
                runningVar[c] = (1 - momentum) * runningVar[c] + momentum * unbiased
                let scale = gamma[c] * invStd, shift = beta[c] - mean * scale
                for b in 0..<batch {
                    let p = x + (b * channels + c) * plane, q = y + (b * channels + c) * plane
                    for i in 0..<plane { q[i] = p[i] * scale + shift }
                }
            }
        }
    }

    /// Eval forward with running statistics.
    public static func forwardInference(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                                        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                                        runningMean: UnsafePointer<Float>, runningVar: UnsafePointer<Float>,
                                        batch: Int, channels: Int, plane: Int, eps: Float) {
        Parallel.forEachChunk(batch * channels, minimumPerChunk: Parallel.rowsPerChunk(plane)) { _, rows in
            for r in rows {
                let c = r % channels
                let scale = gamma[c] / (runningVar[c] + eps).squareRoot()
                let shift = beta[c] - runningMean[c] * scale
                let p = x + r * plane, q = y + r * plane
                for i in 0..<plane { q[i] = p[i] * scale + shift }
            }
        }
    }

    /// dx (overwritten), dgamma and dbeta (accumulated) for the training forward.
    public static func backward(dx: UnsafeMutablePointer<Float>, dgamma: UnsafeMutablePointer<Float>,
                                dbeta: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                                gamma: UnsafePointer<Float>, savedMean: UnsafePointer<Float>,
                                savedInvStd: UnsafePointer<Float>, batch: Int, channels: Int, plane: Int) {
        let m = Float(batch * plane)
        Parallel.forEachChunk(channels, minimumPerChunk: Parallel.rowsPerChunk(batch * plane)) { _, cs in
            for c in cs {
                let mean = savedMean[c], invStd = savedInvStd[c]
                var sumDy: Float = 0, sumDyXhat: Float = 0
                for b in 0..<batch {
                    let g = dy + (b * channels + c) * plane, p = x + (b * channels + c) * plane
                    for i in 0..<plane {
                        sumDy += g[i]
                        sumDyXhat += g[i] * (p[i] - mean) * invStd
                    }
                }
                dgamma[c] += sumDyXhat
                dbeta[c] += sumDy
                let k = gamma[c] * invStd / m
                for b in 0..<batch {
                    let g = dy + (b * channels + c) * plane, p = x + (b * channels + c) * plane
                    let d = dx + (b * channels + c) * plane
                    for i in 0..<plane {
                        let xhat = (p[i] - mean) * invStd
                        d[i] = k * (m * g[i] - sumDy - xhat * sumDyXhat)
                    }
                }
            }
        }
    }
}
