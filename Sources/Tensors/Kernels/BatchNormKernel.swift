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
                for b in 0..<batch { sum += Double(PlaneMath.sum(x + (b * channels + c) * plane, plane)) }
                let mean = Float(sum / Double(m))
                var sq: Double = 0
                for b in 0..<batch { sq += Double(PlaneMath.squaredDeviations(x + (b * channels + c) * plane, plane, mean: mean)) }
                let variance = Float(sq / Double(m))
                let invStd = 1 / (variance + eps).squareRoot()
                savedMean[c] = mean
                savedInvStd[c] = invStd
                let unbiased = m > 1 ? variance * Float(m) / Float(m - 1) : variance
                runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mean
                runningVar[c] = (1 - momentum) * runningVar[c] + momentum * unbiased
                let scale = gamma[c] * invStd, shift = beta[c] - mean * scale
                for b in 0..<batch {
                    let offset = (b * channels + c) * plane
                    PlaneMath.affine(y + offset, x + offset, plane, scale: scale, shift: shift)
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
                PlaneMath.affine(y + r * plane, x + r * plane, plane, scale: scale, shift: shift)
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
                var sumDy: Float = 0, sumDyCentred: Float = 0
                for b in 0..<batch {
                    let offset = (b * channels + c) * plane
                    let (g, gp) = PlaneMath.sumAndCentredDot(dy + offset, x + offset, plane, mean: mean)
                    sumDy += g
                    sumDyCentred += gp
                }
                let sumDyXhat = sumDyCentred * invStd
                dgamma[c] += sumDyXhat
                dbeta[c] += sumDy
                // dx = k·(m·dy − Σdy − x̂·Σ(dy·x̂)) with x̂ = (x − mean)·invStd, as one affine pass.
                let k = gamma[c] * invStd / m
                for b in 0..<batch {
                    let offset = (b * channels + c) * plane
                    PlaneMath.combine(dx + offset, dy + offset, x + offset, plane, mean: mean,
                                      a: k * m, b: -k * invStd * sumDyXhat, c: -k * sumDy)
                }
            }
        }
    }
}
