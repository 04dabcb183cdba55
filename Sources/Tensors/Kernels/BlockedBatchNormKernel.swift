import Foundation

/// Training batch norm on values in `BlockedLayout` (nChw{B}c), forward and backward side by
/// side: one B-lane vector holds B channels, so per-channel sums are vertical vector adds over
/// the spatial positions. Work is split over the batch (a convolution's blocked channels are
/// often a single block); each chunk's partial sums are added in chunk order, so results are
/// bitwise repeatable for a fixed thread count. Same formulas as `BatchNormKernel`.
///
/// Fused epilogue (a residual block's tail, oneDNN 2.6 has no training primitive for it):
/// y = relu(bn(x) + residual), either part optional. The backward takes the output `y` for
/// ReLU's mask and, when the residual needs a gradient, writes dz = dL/d(bn(x) + residual)
/// for it in the pass that sums it.
enum BlockedBatchNormKernel {
    /// The optional tail after normalising: `+ residual`, then ReLU.
    struct Epilogue {
        var residual: UnsafePointer<Float>? = nil
        var relu = false
    }

    static func forwardTraining(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                                gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                                runningMean: UnsafeMutablePointer<Float>, runningVar: UnsafeMutablePointer<Float>,
                                savedMean: UnsafeMutablePointer<Float>, savedInvStd: UnsafeMutablePointer<Float>,
                                batch: Int, channels: Int, plane: Int, block: Int, momentum: Float, eps: Float,
                                epilogue: Epilogue = Epilogue()) {
        let shape = Shape(batch: batch, channels: channels, plane: plane)
        if block == 16 {
            forwardTraining(SIMD16<Float>.self, y, x, gamma, beta, runningMean, runningVar, savedMean, savedInvStd, shape, momentum, eps,
                            epilogue)
        } else {
            forwardTraining(SIMD8<Float>.self, y, x, gamma, beta, runningMean, runningVar, savedMean, savedInvStd, shape, momentum, eps,
                            epilogue)
        }
    }

    /// dx (overwritten, blocked), dgamma and dbeta (accumulated) for the training forward.
    /// With a fused ReLU, `reluOutput` is the forward's `y`; `dz` (overwritten) receives the
    /// gradient before normalisation's backward — the residual's gradient.
    static func backward(dx: UnsafeMutablePointer<Float>, dgamma: UnsafeMutablePointer<Float>, dbeta: UnsafeMutablePointer<Float>,
                         dy: UnsafePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
                         savedMean: UnsafePointer<Float>, savedInvStd: UnsafePointer<Float>,
                         batch: Int, channels: Int, plane: Int, block: Int,
                         reluOutput: UnsafePointer<Float>? = nil, dz: UnsafeMutablePointer<Float>? = nil) {
        let shape = Shape(batch: batch, channels: channels, plane: plane)
        if block == 16 {
            backward(SIMD16<Float>.self, dx, dgamma, dbeta, dy, x, gamma, savedMean, savedInvStd, shape, reluOutput, dz)
        } else {
            backward(SIMD8<Float>.self, dx, dgamma, dbeta, dy, x, gamma, savedMean, savedInvStd, shape, reluOutput, dz)
        }
    }

    struct Shape { var batch, channels, plane: Int }

    private static func forwardTraining<V: BlockLanes>(
        _: V.Type, _ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ gamma: UnsafePointer<Float>,
        _ beta: UnsafePointer<Float>, _ runningMean: UnsafeMutablePointer<Float>, _ runningVar: UnsafeMutablePointer<Float>,
        _ savedMean: UnsafeMutablePointer<Float>, _ savedInvStd: UnsafeMutablePointer<Float>, _ shape: Shape, _ momentum: Float,
        _ eps: Float, _ epilogue: Epilogue
    ) where V.Scalar == Float {
        let (channels, plane) = (shape.channels, shape.plane)
        let partial = Partials(channels: channels)
        defer { partial.free() }
        let m = Double(shape.batch * plane)
        // Pass 1: means.
        sweep(shape, V.scalarCount) { chunk, offset, channel in
            var acc = V()
            for s in 0..<plane { acc += load(x, offset + s * V.scalarCount) }
            partial.add(chunk, acc, at: channel)
        }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 3 * channels)
        defer { scratch.deallocate() }
        let mean = scratch, scale = scratch + channels, shift = scratch + 2 * channels
        partial.totals(into: mean) { Float($0 / m) }
        // Pass 2: variances around the mean (two passes, as the plain kernel).
        partial.reset()
        sweep(shape, V.scalarCount) { chunk, offset, channel in
            let mu: V = load(mean, channel)
            var acc = V()
            for s in 0..<plane { let d = load(x, offset + s * V.scalarCount) - mu; acc += d * d }
            partial.add(chunk, acc, at: channel)
        }
        partial.totals(into: scale) { Float($0 / m) }  // variance, for now
        for c in 0..<channels {
            let variance = scale[c]
            let invStd = 1 / (variance + eps).squareRoot()
            savedMean[c] = mean[c]
            savedInvStd[c] = invStd
            let unbiased = m > 1 ? variance * Float(m) / Float(m - 1) : variance
            runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mean[c]
            runningVar[c] = (1 - momentum) * runningVar[c] + momentum * unbiased
            scale[c] = gamma[c] * invStd
            shift[c] = beta[c] - mean[c] * scale[c]
        }
        // Pass 3: y = x·scale + shift, then the epilogue (loops kept apart so each stays branch-free).
        sweep(shape, V.scalarCount) { _, offset, channel in
            let a: V = load(scale, channel), b: V = load(shift, channel)
            let w = V.scalarCount
            switch (epilogue.residual, epilogue.relu) {
            case (nil, false):
                for s in 0..<plane { let i = offset + s * w; store(load(x, i) * a + b, y, i) }
            case (nil, true):
                for s in 0..<plane { let i = offset + s * w; let v = load(x, i) * a + b; store(v.relu(), y, i) }
            case (let r?, false):
                for s in 0..<plane { let i = offset + s * w; store(load(x, i) * a + b + load(r, i), y, i) }
            case (let r?, true):
                for s in 0..<plane {
                    let i = offset + s * w
                    let v = load(x, i) * a + b + load(r, i)
                    store(v.relu(), y, i)
                }
            }
        }
    }

    private static func backward<V: BlockLanes>(
        _: V.Type, _ dx: UnsafeMutablePointer<Float>, _ dgamma: UnsafeMutablePointer<Float>, _ dbeta: UnsafeMutablePointer<Float>,
        _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ gamma: UnsafePointer<Float>, _ savedMean: UnsafePointer<Float>,
        _ savedInvStd: UnsafePointer<Float>, _ shape: Shape, _ reluOutput: UnsafePointer<Float>?, _ dz: UnsafeMutablePointer<Float>?
    ) where V.Scalar == Float {
        let (channels, plane) = (shape.channels, shape.plane)
        let sums = Partials(channels: channels), centred = Partials(channels: channels)
        defer { sums.free(); centred.free() }
        // Pass 1: Σdz and Σdz·(x − mean), dz = dy through ReLU's mask (y > 0), written out when asked.
        sweep(shape, V.scalarCount) { chunk, offset, channel in
            let mu: V = load(savedMean, channel)
            var g = V(), gp = V()
            let w = V.scalarCount
            switch (reluOutput, dz) {
            case (nil, nil):
                for s in 0..<plane { let i = offset + s * w; let d: V = load(dy, i); g += d; gp += d * (load(x, i) - mu) }
            case (let y?, nil):
                for s in 0..<plane {
                    let i = offset + s * w
                    let d = (load(dy, i) as V).masked(byPositive: load(y, i))
                    g += d
                    gp += d * (load(x, i) - mu)
                }
            case (nil, let out?):
                for s in 0..<plane { let i = offset + s * w; let d: V = load(dy, i); store(d, out, i); g += d; gp += d * (load(x, i) - mu) }
            case (let y?, let out?):
                for s in 0..<plane {
                    let i = offset + s * w
                    let d = (load(dy, i) as V).masked(byPositive: load(y, i))
                    store(d, out, i)
                    g += d
                    gp += d * (load(x, i) - mu)
                }
            }
            sums.add(chunk, g, at: channel)
            centred.add(chunk, gp, at: channel)
        }
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 5 * channels)
        defer { scratch.deallocate() }
        let sumDy = scratch, sumDyCentred = scratch + channels
        let a = scratch + 2 * channels, b = scratch + 3 * channels, c = scratch + 4 * channels
        sums.totals(into: sumDy) { Float($0) }
        centred.totals(into: sumDyCentred) { Float($0) }
        // dx = dy·a + (x − mean)·b + c per channel, as BatchNormKernel.backward.
        let m = Float(shape.batch * plane)
        for ch in 0..<channels {
            let invStd = savedInvStd[ch], sumDyXhat = sumDyCentred[ch] * invStd
            dgamma[ch] += sumDyXhat
            dbeta[ch] += sumDy[ch]
            let k = gamma[ch] * invStd / m
            a[ch] = k * m
            b[ch] = -k * invStd * sumDyXhat
            c[ch] = -k * sumDy[ch]
        }
        // Pass 2: dx from dz — read back when written, else dy masked again.
        sweep(shape, V.scalarCount) { _, offset, channel in
            let mu: V = load(savedMean, channel), va: V = load(a, channel), vb: V = load(b, channel), vc: V = load(c, channel)
            let w = V.scalarCount
            if let dz {
                for s in 0..<plane { let i = offset + s * w; store(load(dz, i) * va + (load(x, i) - mu) * vb + vc, dx, i) }
            } else if let y = reluOutput {
                for s in 0..<plane {
                    let i = offset + s * w
                    let d = (load(dy, i) as V).masked(byPositive: load(y, i))
                    store(d * va + (load(x, i) - mu) * vb + vc, dx, i)
                }
            } else {
                for s in 0..<plane { let i = offset + s * w; store(load(dy, i) * va + (load(x, i) - mu) * vb + vc, dx, i) }
            }
        }
    }

    /// Visits every (image, channel block) as (chunk, offset of its first float, first channel),
    /// images split into at most `Parallel.threads` contiguous chunks.
    @inline(__always)
    private static func sweep(_ shape: Shape, _ block: Int, _ body: (_ chunk: Int, _ offset: Int, _ channel: Int) -> Void) {
        let blocks = shape.channels / block, image = shape.channels * shape.plane
        Parallel.forEachChunk(shape.batch, minimumPerChunk: Parallel.rowsPerChunk(image)) { chunk, images in
            for n in images {
                for cb in 0..<blocks { body(chunk, n * image + cb * shape.plane * block, cb * block) }
            }
        }
    }

    @inline(__always)
    private static func load<V: SIMD & BitwiseCopyable>(_ p: UnsafePointer<Float>, _ i: Int) -> V where V.Scalar == Float {
        UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
    }

    @inline(__always)
    private static func store<V: SIMD & BitwiseCopyable>(_ v: V, _ p: UnsafeMutablePointer<Float>, _ i: Int) where V.Scalar == Float {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: V.self)
    }

    /// Per-chunk, per-channel partial sums in Double.
    private struct Partials {
        let sums: UnsafeMutablePointer<Double>
        let channels: Int
        let chunks = Parallel.threads

        init(channels: Int) {
            self.channels = channels
            sums = .allocate(capacity: chunks * channels)
            sums.initialize(repeating: 0, count: chunks * channels)
        }

        func reset() { sums.update(repeating: 0, count: chunks * channels) }
        func free() { sums.deallocate() }

        @inline(__always)
        func add<V: SIMD>(_ chunk: Int, _ v: V, at channel: Int) where V.Scalar == Float {
            let row = sums + chunk * channels + channel
            for l in 0..<V.scalarCount { row[l] += Double(v[l]) }
        }

        /// Chunk sums added in chunk order, mapped per channel.
        func totals(into out: UnsafeMutablePointer<Float>, _ transform: (Double) -> Float) {
            for c in 0..<channels {
                var t = 0.0
                for k in 0..<chunks { t += sums[k * channels + c] }
                out[c] = transform(t)
            }
        }
    }
}

/// A channel block's lanes. The ReLU operations are requirements so that generic code
/// specialised for SIMD16/SIMD8 reaches their vector implementations (the generic SIMD
/// comparisons work lane by lane).
protocol BlockLanes: SIMD, BitwiseCopyable where Scalar == Float {
    /// max(self, 0) lane by lane; NaN stays NaN.
    func relu() -> Self
    /// self where `y` > 0, else 0 (ReLU's backward given its output).
    func masked(byPositive y: Self) -> Self
}

extension SIMD16: BlockLanes where Scalar == Float {
    @inline(__always) func relu() -> Self { replacing(with: Self(), where: self .< Self()) }
    @inline(__always) func masked(byPositive y: Self) -> Self { Self().replacing(with: self, where: y .> Self()) }
}

extension SIMD8: BlockLanes where Scalar == Float {
    @inline(__always) func relu() -> Self { replacing(with: Self(), where: self .< Self()) }
    @inline(__always) func masked(byPositive y: Self) -> Self { Self().replacing(with: self, where: y .> Self()) }
}
