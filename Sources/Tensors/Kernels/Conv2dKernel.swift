import CBLAS

/// Convolution as im2col + `cblas_sgemm` (1×1 convolutions go straight to GEMM), forward and
/// backward side by side. Layouts: input (N, C, H, W), weight (Cout, C/g, kh, kw),
/// output (N, Cout, Ho, Wo). The batch is split across threads; each thread owns its scratch.
public enum Conv2dKernel {
    /// Writes the (C/g·kh·kw, Ho·Wo) patch matrix of one group of one image.
    @inline(__always)
    static func im2col(_ col: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, _ g: ConvGeometry) {
        im2col(col, input, g, rows: 0..<g.outHeight)
    }

    /// The patch matrix restricted to output rows `rows`: (C/g·kh·kw, rows.count·Wo).
    @inline(__always)
    static func im2col(_ col: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, _ g: ConvGeometry, rows: Range<Int>) {
        let wo = g.outWidth
        let band = rows.count * wo
        var row = 0
        for c in 0..<g.inPerGroup {
            let plane = input + c * g.inPlane
            for ki in 0..<g.kernelH {
                for kj in 0..<g.kernelW {
                    let dst = col + row * band
                    for oy in rows {
                        let iy = oy * g.strideH - g.padH + ki * g.dilationH
                        let line = dst + (oy - rows.lowerBound) * wo
                        if iy < 0 || iy >= g.height {
                            line.update(repeating: 0, count: wo)
                            continue
                        }
                        let src = plane + iy * g.width
                        let x0 = kj * g.dilationW - g.padW
                        if g.strideW == 1 {
                            // Contiguous run: zero the padded edges, copy the middle.
                            let lo = max(0, -x0), hi = min(wo, g.width - x0)
                            if lo > 0 { line.update(repeating: 0, count: min(lo, wo)) }
                            if hi > lo { (line + lo).update(from: src + x0 + lo, count: hi - lo) }
                            if hi < wo { (line + max(hi, 0)).update(repeating: 0, count: wo - max(hi, 0)) }
                        } else {
                            for ox in 0..<wo {
                                let ix = ox * g.strideW + x0
                                line[ox] = (ix >= 0 && ix < g.width) ? src[ix] : 0
                            }
                        }
                    }
                    row += 1
                }
            }
        }
    }

    /// Adds the patch matrix of one group back onto its image (the adjoint of im2col).
    @inline(__always)
    static func col2im(_ input: UnsafeMutablePointer<Float>, _ col: UnsafePointer<Float>, _ g: ConvGeometry) {
        let ho = g.outHeight, wo = g.outWidth
        var row = 0
        for c in 0..<g.inPerGroup {
            let plane = input + c * g.inPlane
            for ki in 0..<g.kernelH {
                for kj in 0..<g.kernelW {
                    let srcRow = col + row * ho * wo
                    for oy in 0..<ho {
                        let iy = oy * g.strideH - g.padH + ki * g.dilationH
                        if iy < 0 || iy >= g.height { continue }
                        let dst = plane + iy * g.width
                        let line = srcRow + oy * wo
                        let x0 = kj * g.dilationW - g.padW
                        if g.strideW == 1 {
                            let lo = max(0, -x0), hi = min(wo, g.width - x0)
                            if hi > lo {
                                let d = dst + x0
                                for ox in lo..<hi { d[ox] += line[ox] }
                            }
                        } else {
                            for ox in 0..<wo {
                                let ix = ox * g.strideW + x0
                                if ix >= 0 && ix < g.width { dst[ix] += line[ox] }
                            }
                        }
                    }
                    row += 1
                }
            }
        }
    }

    /// Scratch floats one thread needs (an im2col matrix), zero for pointwise convolutions.
    static func scratchCount(_ g: ConvGeometry) -> Int { g.isPointwise ? 0 : g.patch * g.outPlane }

    /// out = conv(input, weight) + bias. `bias` may be nil.
    public static func forward(_ out: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>,
                               _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ g: ConvGeometry,
                               scratch: BufferPool? = nil) {
        let m = g.outPerGroup, k = g.patch, n = g.outPlane
        let threads = Parallel.threads
        // Splitting one GEMM across threads pays a wake-up per call and packs the weights twice:
        // worth it only for large products.
        if g.batch >= threads || threads == 1 || m * n * k < Parallel.minimumSplitMACs {
            Parallel.forEachChunk(g.batch) { _, images in
                let col = Scratch(count: scratchCount(g), pool: scratch)
                for b in images {
                    for grp in 0..<g.groups {
                        let src = input + (b * g.inChannels + grp * g.inPerGroup) * g.inPlane
                        let dst = out + (b * g.outChannels + grp * m) * n
                        let operand: UnsafePointer<Float>
                        if g.isPointwise { operand = src } else { im2col(col.pointer, src, g); operand = UnsafePointer(col.pointer) }
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                                    weight + grp * m * k, Int32(k), operand, Int32(n), 0, dst, Int32(n))
                    }
                }
                col.release()
            }
        } else {
            // Fewer images than threads (batch-1 inference): each thread builds the patch matrix
            // of a band of output rows and multiplies it, writing its band of the output.
            for b in 0..<g.batch {
                for grp in 0..<g.groups {
                    let src = input + (b * g.inChannels + grp * g.inPerGroup) * g.inPlane
                    let dst = out + (b * g.outChannels + grp * m) * n
                    Parallel.forEachChunk(g.outHeight) { _, rows in
                        let cols = rows.count * g.outWidth, first = rows.lowerBound * g.outWidth
                        let col = Scratch(count: g.isPointwise ? 0 : k * cols, pool: scratch)
                        let operand: UnsafePointer<Float>
                        let ldb: Int
                        if g.isPointwise { operand = src + first; ldb = n } else {
                            im2col(col.pointer, src, g, rows: rows)
                            operand = UnsafePointer(col.pointer)
                            ldb = cols
                        }
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(cols), Int32(k), 1,
                                    weight + grp * m * k, Int32(k), operand, Int32(ldb), 0, dst + first, Int32(n))
                        col.release()
                    }
                }
            }
        }
        if let bias { addBias(out, bias, batch: g.batch, channels: g.outChannels, plane: n) }
    }

    /// Gradients: dInput = convᵀ(dOut) (overwritten; nil to skip), dWeight and dBias
    /// accumulated (+=; dBias may be nil).
    public static func backward(dInput: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>,
                                dBias: UnsafeMutablePointer<Float>?, dOut: UnsafePointer<Float>,
                                input: UnsafePointer<Float>, weight: UnsafePointer<Float>, _ g: ConvGeometry,
                                scratch: BufferPool? = nil) {
        let m = g.outPerGroup, k = g.patch, n = g.outPlane
        let chunks = max(1, min(Parallel.threads, g.batch))
        // Per-chunk weight-gradient partials, reduced in chunk order (deterministic).
        let partial = Scratch(count: chunks * g.weightCount, pool: scratch)
        partial.pointer.update(repeating: 0, count: chunks * g.weightCount)
        Parallel.forEachChunk(g.batch) { chunk, images in
            let col = Scratch(count: scratchCount(g), pool: scratch)
            let dcol = Scratch(count: g.patch * n, pool: scratch)
            let dw = partial.pointer + chunk * g.weightCount
            for b in images {
                if let dInput { (dInput + b * g.inChannels * g.inPlane).update(repeating: 0, count: g.inChannels * g.inPlane) }
                for grp in 0..<g.groups {
                    let src = input + (b * g.inChannels + grp * g.inPerGroup) * g.inPlane
                    let dy = dOut + (b * g.outChannels + grp * m) * n
                    let operand: UnsafePointer<Float>
                    if g.isPointwise { operand = src } else { im2col(col.pointer, src, g); operand = UnsafePointer(col.pointer) }
                    // dW_g (m×k) += dY_g (m×n) · colᵀ (n×k)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(k), Int32(n), 1,
                                dy, Int32(n), operand, Int32(n), 1, dw + grp * m * k, Int32(k))
                    guard let dInput else { continue }
                    let dx = dInput + (b * g.inChannels + grp * g.inPerGroup) * g.inPlane
                    if g.isPointwise {
                        // dX_g (k×n) = W_gᵀ (k×m) · dY_g (m×n), written in place.
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(k), Int32(n), Int32(m), 1,
                                    weight + grp * m * k, Int32(k), dy, Int32(n), 0, dx, Int32(n))
                    } else {
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(k), Int32(n), Int32(m), 1,
                                    weight + grp * m * k, Int32(k), dy, Int32(n), 0, dcol.pointer, Int32(n))
                        col2im(dx, dcol.pointer, g)
                    }
                }
            }
            col.release()
            dcol.release()
        }
        for c in 0..<chunks {
            let src = partial.pointer + c * g.weightCount
            for i in 0..<g.weightCount { dWeight[i] += src[i] }
        }
        partial.release()
        if let dBias { accumulateBiasGradient(dBias, dOut, batch: g.batch, channels: g.outChannels, plane: n) }
    }

    /// out[n, c, :] += bias[c]
    static func addBias(_ out: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, batch: Int, channels: Int, plane: Int) {
        Parallel.forEachChunk(batch * channels, minimumPerChunk: Parallel.rowsPerChunk(plane)) { _, rows in
            for r in rows {
                let v = bias[r % channels]
                let p = out + r * plane
                for i in 0..<plane { p[i] += v }
            }
        }
    }

    /// dBias[c] += Σ_{n, hw} dOut[n, c, hw]
    static func accumulateBiasGradient(_ dBias: UnsafeMutablePointer<Float>, _ dOut: UnsafePointer<Float>,
                                       batch: Int, channels: Int, plane: Int) {
        for c in 0..<channels {
            var s: Float = 0
            for b in 0..<batch {
                let p = dOut + (b * channels + c) * plane
                for i in 0..<plane { s += p[i] }
            }
            dBias[c] += s
        }
    }
}

/// A temporary buffer from a pool (or the heap), handed back with `release()`.
struct Scratch {
    let storage: TensorStorage
    let pool: BufferPool?
    var pointer: UnsafeMutablePointer<Float> { storage.pointer }

    init(count: Int, pool: BufferPool?) {
        self.pool = pool
        storage = pool?.take(max(count, 1)) ?? TensorStorage(capacity: max(count, 1))
    }

    func release() { pool?.recycle(storage) }
}
