import CBLAS

/// 3×3 stride-1 pad-1 convolution by Winograd F(2×2, 3×3) (Lavin & Gray, 2016): each 2×2
/// output tile from a 4×4 input tile with 16 multiplies per channel pair instead of 36. The
/// filter transform U = G g Gᵀ is done once; per image the input tiles are transformed
/// (V = Bᵀ d B), 16 GEMMs M_ξ = U_ξ · V_ξ (K × C by C × tiles) go to `cblas_sgemm`, and the
/// output transform Y = Aᵀ M A writes the raw convolution (bias, residual and activation are the
/// caller's epilogue). Inference only: the training path keeps im2col, whose backward it shares.
enum WinogradKernel {
    /// Whether a convolution qualifies: 3×3, stride 1, padding 1, dilation 1, one group.
    static func applies(kernel: Int, stride: Int, padding: Int, dilation: Int, groups: Int) -> Bool {
        kernel == 3 && stride == 1 && padding == 1 && dilation == 1 && groups == 1
    }

    /// U (16, K, C) from weights (K, C, 3, 3).
    static func transformFilter(_ w: UnsafePointer<Float>, outChannels k: Int, inChannels c: Int) -> Tensor {
        let u = Tensor(zeros: [16, k, c])
        for o in 0..<k {
            for i in 0..<c {
                let g = w + (o * c + i) * 9
                // t = G g (4×3), G = [[1,0,0],[½,½,½],[½,−½,½],[0,0,1]]
                var t = [Float](repeating: 0, count: 12)
                for col in 0..<3 {
                    let g0 = g[col], g1 = g[3 + col], g2 = g[6 + col]
                    t[col] = g0
                    t[3 + col] = 0.5 * (g0 + g1 + g2)
                    t[6 + col] = 0.5 * (g0 - g1 + g2)
                    t[9 + col] = g2
                }
                // U = t Gᵀ (4×4)
                for row in 0..<4 {
                    let a = t[row * 3], b = t[row * 3 + 1], d = t[row * 3 + 2]
                    let values = [a, 0.5 * (a + b + d), 0.5 * (a - b + d), d]
                    for col in 0..<4 { u.pointer[((row * 4 + col) * k + o) * c + i] = values[col] }
                }
            }
        }
        return u
    }

    /// y (K, H, W) = conv3×3(x (C, H, W)) for one image.
    static func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ u: UnsafePointer<Float>,
                        inChannels c: Int, outChannels k: Int, height h: Int, width w: Int, pool: BufferPool) {
        let th = (h + 1) / 2, tw = (w + 1) / 2, tiles = th * tw
        // The 16 blocks are offset by 64 bytes more than their size: at sizes that are multiples
        // of 4 KiB, the 16 streams a tile touches would otherwise share L1 sets (measured 10×
        // slower).
        let vStride = c * tiles + 16, mStride = k * tiles + 16
        let v = Scratch(count: 16 * vStride, pool: pool), m = Scratch(count: 16 * mStride, pool: pool)
        defer { v.release(); m.release() }
        let vp = v.pointer, mp = m.pointer
        // Input transform, by channel: V = Bᵀ d B with Bᵀ rows (d0 − d2, d1 + d2, d2 − d1, d1 − d3).
        Parallel.forEachChunk(c, minimumPerChunk: max(1, 1024 / max(tiles, 1))) { _, channels in
            let d = UnsafeMutablePointer<Float>.allocate(capacity: 16)
            defer { d.deallocate() }
            let stride = vStride
            for ch in channels {
                let plane = x + ch * h * w
                let v0 = vp + ch * tiles
                for ty in 0..<th {
                    let y0 = 2 * ty - 1
                    for tx in 0..<tw {
                        let x0 = 2 * tx - 1
                        if y0 >= 0 && x0 >= 0 && y0 + 3 < h && x0 + 3 < w {
                            for r in 0..<4 {
                                let row = plane + (y0 + r) * w + x0
                                d[r * 4] = row[0]; d[r * 4 + 1] = row[1]; d[r * 4 + 2] = row[2]; d[r * 4 + 3] = row[3]
                            }
                        } else {
                            for r in 0..<4 {
                                let yy = y0 + r
                                for q in 0..<4 {
                                    let xx = x0 + q
                                    d[r * 4 + q] = (yy >= 0 && yy < h && xx >= 0 && xx < w) ? plane[yy * w + xx] : 0
                                }
                            }
                        }
                        // Bᵀ d, column by column, in place.
                        for col in 0..<4 {
                            let d0 = d[col], d1 = d[4 + col], d2 = d[8 + col], d3 = d[12 + col]
                            d[col] = d0 - d2; d[4 + col] = d1 + d2; d[8 + col] = d2 - d1; d[12 + col] = d1 - d3
                        }
                        // (Bᵀ d) B, row by row, into V.
                        let out = v0 + ty * tw + tx
                        for row in 0..<4 {
                            let e0 = d[row * 4], e1 = d[row * 4 + 1], e2 = d[row * 4 + 2], e3 = d[row * 4 + 3]
                            let o = out + row * 4 * stride
                            o[0] = e0 - e2
                            o[stride] = e1 + e2
                            o[2 * stride] = e2 - e1
                            o[3 * stride] = e1 - e3
                        }
                    }
                }
            }
        }
        // 16 GEMMs: M_ξ (K × tiles) = U_ξ (K × C) · V_ξ (C × tiles).
        Parallel.forEachChunk(16, minimumPerChunk: k * c * tiles >= 32_768 ? 1 : 16) { _, positions in
            for xi in positions {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(k), Int32(tiles), Int32(c), 1,
                            u + xi * k * c, Int32(c), vp + xi * vStride, Int32(tiles), 0, mp + xi * mStride, Int32(tiles))
            }
        }
        // Output transform, by output channel: Aᵀ M A with Aᵀ = [[1,1,1,0],[0,1,−1,−1]].
        Parallel.forEachChunk(k, minimumPerChunk: max(1, 1024 / max(tiles, 1))) { _, outs in
            let stride = mStride
            for o in outs {
                let out = y + o * h * w
                let m0 = mp + o * tiles
                for ty in 0..<th {
                    for tx in 0..<tw {
                        let p = m0 + ty * tw + tx
                        let a0 = p[0], a1 = p[stride], a2 = p[2 * stride], a3 = p[3 * stride]
                        let b0 = p[4 * stride], b1 = p[5 * stride], b2 = p[6 * stride], b3 = p[7 * stride]
                        let c0 = p[8 * stride], c1 = p[9 * stride], c2 = p[10 * stride], c3 = p[11 * stride]
                        let e0 = p[12 * stride], e1 = p[13 * stride], e2 = p[14 * stride], e3 = p[15 * stride]
                        // Rows of Aᵀ M.
                        let r00 = a0 + b0 + c0, r01 = a1 + b1 + c1, r02 = a2 + b2 + c2, r03 = a3 + b3 + c3
                        let r10 = b0 - c0 - e0, r11 = b1 - c1 - e1, r12 = b2 - c2 - e2, r13 = b3 - c3 - e3
                        let oy = 2 * ty, ox = 2 * tx
                        out[oy * w + ox] = r00 + r01 + r02
                        if ox + 1 < w { out[oy * w + ox + 1] = r01 - r02 - r03 }
                        if oy + 1 < h {
                            out[(oy + 1) * w + ox] = r10 + r11 + r12
                            if ox + 1 < w { out[(oy + 1) * w + ox + 1] = r11 - r12 - r13 }
                        }
                    }
                }
            }
        }
    }
}
