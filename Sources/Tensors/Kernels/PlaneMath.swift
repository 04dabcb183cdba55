/// Streaming passes over one contiguous run of floats, sixteen lanes at a time. Swift does not
/// vectorise a float reduction on its own (it may not reassociate the sum), so the per-channel
/// passes of batch norm go through these: sixteen partial sums, added up at the end.
enum PlaneMath {
    typealias Lanes = SIMD16<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ i: Int) -> Lanes {
        UnsafeRawPointer(p).loadUnaligned(fromByteOffset: i * 4, as: Lanes.self)
    }

    @inline(__always)
    static func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, toByteOffset: i * 4, as: Lanes.self)
    }

    /// Σ p[i].
    @inline(__always)
    static func sum(_ p: UnsafePointer<Float>, _ count: Int) -> Float {
        var acc = Lanes(), i = 0
        while i + 16 <= count { acc += load(p, i); i += 16 }
        var s = acc.sum()
        while i < count { s += p[i]; i += 1 }
        return s
    }

    /// Σ (p[i] − mean)².
    @inline(__always)
    static func squaredDeviations(_ p: UnsafePointer<Float>, _ count: Int, mean: Float) -> Float {
        var acc = Lanes(), i = 0
        let m = Lanes(repeating: mean)
        while i + 16 <= count { let d = load(p, i) - m; acc += d * d; i += 16 }
        var s = acc.sum()
        while i < count { let d = p[i] - mean; s += d * d; i += 1 }
        return s
    }

    /// (Σ g[i], Σ g[i]·(p[i] − mean)).
    @inline(__always)
    static func sumAndCentredDot(_ g: UnsafePointer<Float>, _ p: UnsafePointer<Float>, _ count: Int,
                                 mean: Float) -> (Float, Float) {
        var sg = Lanes(), sgp = Lanes(), i = 0
        let m = Lanes(repeating: mean)
        while i + 16 <= count {
            let gv = load(g, i)
            sg += gv
            sgp += gv * (load(p, i) - m)
            i += 16
        }
        var a = sg.sum(), b = sgp.sum()
        while i < count { a += g[i]; b += g[i] * (p[i] - mean); i += 1 }
        return (a, b)
    }

    /// q[i] = p[i]·scale + shift.
    @inline(__always)
    static func affine(_ q: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, _ count: Int,
                       scale: Float, shift: Float) {
        var i = 0
        let a = Lanes(repeating: scale), b = Lanes(repeating: shift)
        while i + 16 <= count { store(load(p, i) * a + b, q, i); i += 16 }
        while i < count { q[i] = p[i] * scale + shift; i += 1 }
    }

    /// q[i] = g[i]·a + (p[i] − mean)·b + c.
    @inline(__always)
    static func combine(_ q: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ p: UnsafePointer<Float>,
                        _ count: Int, mean: Float, a: Float, b: Float, c: Float) {
        var i = 0
        let va = Lanes(repeating: a), vb = Lanes(repeating: b), vc = Lanes(repeating: c), m = Lanes(repeating: mean)
        while i + 16 <= count { store(load(g, i) * va + (load(p, i) - m) * vb + vc, q, i); i += 16 }
        while i < count { q[i] = g[i] * a + (p[i] - mean) * b + c; i += 1 }
    }

    /// q[i] = p[i] > 0 ? g[i] : 0 (NaN in p gives 0).
    @inline(__always)
    static func reluBackward(_ q: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ p: UnsafePointer<Float>,
                             _ count: Int) {
        var i = 0
        let zero = Lanes()
        while i + 16 <= count { store(zero.replacing(with: load(g, i), where: load(p, i) .> zero), q, i); i += 16 }
        while i < count { q[i] = p[i] > 0 ? g[i] : 0; i += 1 }
    }

    /// q[i] = max(p[i], 0); NaN stays NaN (so a diverging loss still shows it).
    @inline(__always)
    static func relu(_ q: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, _ count: Int) {
        var i = 0
        let zero = Lanes()
        while i + 16 <= count { let v = load(p, i); store(v.replacing(with: zero, where: v .< zero), q, i); i += 16 }
        while i < count { q[i] = max(p[i], 0); i += 1 }
    }
}
