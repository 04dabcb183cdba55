/// Max, average and global-average pooling over (N, C, H, W), forward and backward.
public enum PoolingKernel {
    /// Max pooling; `argmax` receives the flat input index of each output's maximum.
    public static func maxForward(_ y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>,
                                  _ x: UnsafePointer<Float>, _ g: ConvGeometry) {
        let ho = g.outHeight, wo = g.outWidth
        // The kernel taps inside the image, per output row and column, found once (no bound
        // checks in the window loops: SPP's 13×13 windows on small maps are mostly padding).
        let rows = taps(outputs: ho, stride: g.strideH, pad: g.padH, dilation: g.dilationH, kernel: g.kernelH, size: g.height)
        let columns = taps(outputs: wo, stride: g.strideW, pad: g.padW, dilation: g.dilationW, kernel: g.kernelW, size: g.width)
        Parallel.forEachChunk(g.batch * g.inChannels, minimumPerChunk: 4) { _, planes in
            for p in planes {
                let src = x + p * g.inPlane
                for oy in 0..<ho {
                    let y0 = oy * g.strideH - g.padH
                    for ox in 0..<wo {
                        let x0 = ox * g.strideW - g.padW
                        var best = -Float.infinity, at: Int32 = -1
                        for ki in rows[oy] {
                            let iy = y0 + ki * g.dilationH
                            for kj in columns[ox] {
                                let index = iy * g.width + x0 + kj * g.dilationW
                                let v = src[index]
                                if v > best || at < 0 { best = v; at = Int32(index) }
                            }
                        }
                        let o = p * ho * wo + oy * wo + ox
                        y[o] = best
                        argmax[o] = at
                    }
                }
            }
        }
    }

    /// For each output position along one axis, the kernel taps that land inside 0..<size.
    static func taps(outputs: Int, stride: Int, pad: Int, dilation: Int, kernel: Int, size: Int) -> [Range<Int>] {
        (0..<outputs).map { o in
            let start = o * stride - pad
            var low = 0, high = kernel
            while low < kernel && start + low * dilation < 0 { low += 1 }
            while high > low && start + (high - 1) * dilation >= size { high -= 1 }
            return low..<high
        }
    }

    public static func maxBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>,
                                   argmax: UnsafePointer<Int32>, _ g: ConvGeometry) {
        let outPlane = g.outHeight * g.outWidth
        dx.update(repeating: 0, count: g.batch * g.inChannels * g.inPlane)
        Parallel.forEachChunk(g.batch * g.inChannels, minimumPerChunk: 4) { _, planes in
            for p in planes {
                for o in 0..<outPlane where argmax[p * outPlane + o] >= 0 {
                    dx[p * g.inPlane + Int(argmax[p * outPlane + o])] += dy[p * outPlane + o]
                }
            }
        }
    }

    /// Average pooling; padded cells count in the divisor (PyTorch's count_include_pad).
    public static func averageForward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ g: ConvGeometry) {
        let ho = g.outHeight, wo = g.outWidth
        let scale = 1 / Float(g.kernelH * g.kernelW)
        Parallel.forEachChunk(g.batch * g.inChannels, minimumPerChunk: 4) { _, planes in
            for p in planes {
                let src = x + p * g.inPlane
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        var s: Float = 0
                        for ki in 0..<g.kernelH {
                            let iy = oy * g.strideH - g.padH + ki
                            if iy < 0 || iy >= g.height { continue }
                            for kj in 0..<g.kernelW {
                                let ix = ox * g.strideW - g.padW + kj
                                if ix >= 0 && ix < g.width { s += src[iy * g.width + ix] }
                            }
                        }
                        y[p * ho * wo + oy * wo + ox] = s * scale
                    }
                }
            }
        }
    }

    public static func averageBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ g: ConvGeometry) {
        let ho = g.outHeight, wo = g.outWidth
        let scale = 1 / Float(g.kernelH * g.kernelW)
        dx.update(repeating: 0, count: g.batch * g.inChannels * g.inPlane)
        Parallel.forEachChunk(g.batch * g.inChannels, minimumPerChunk: 4) { _, planes in
            for p in planes {
                let dst = dx + p * g.inPlane
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        let v = dy[p * ho * wo + oy * wo + ox] * scale
                        for ki in 0..<g.kernelH {
                            let iy = oy * g.strideH - g.padH + ki
                            if iy < 0 || iy >= g.height { continue }
                            for kj in 0..<g.kernelW {
                                let ix = ox * g.strideW - g.padW + kj
                                if ix >= 0 && ix < g.width { dst[iy * g.width + ix] += v }
                            }
                        }
                    }
                }
            }
        }
    }

    /// (N, C, plane) → (N, C) mean.
    public static func globalAverageForward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, plane: Int) {
        let scale = 1 / Float(plane)
        for r in 0..<rows {
            var s: Float = 0
            let p = x + r * plane
            for i in 0..<plane { s += p[i] }
            y[r] = s * scale
        }
    }

    public static func globalAverageBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, rows: Int, plane: Int) {
        let scale = 1 / Float(plane)
        for r in 0..<rows {
            let v = dy[r] * scale
            (dx + r * plane).update(repeating: v, count: plane)
        }
    }
}
