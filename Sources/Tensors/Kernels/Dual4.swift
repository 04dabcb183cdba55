import Foundation

/// A value with its gradient with respect to four inputs (forward-mode differentiation): one
/// evaluation of a small closed-form function gives both, for per-box losses such as SIoU
/// whose hand-written derivative would be long and error-prone.
@usableFromInline
struct Dual4 {
    var v: Float
    var d: SIMD4<Float>

    @inline(__always) init(_ v: Float, _ d: SIMD4<Float> = .zero) { self.v = v; self.d = d }

    /// Input `index` of four, with unit derivative.
    @inline(__always) static func input(_ v: Float, _ index: Int) -> Dual4 {
        var d = SIMD4<Float>.zero
        d[index] = 1
        return Dual4(v, d)
    }

    @inline(__always) static func + (a: Dual4, b: Dual4) -> Dual4 { Dual4(a.v + b.v, a.d + b.d) }
    @inline(__always) static func - (a: Dual4, b: Dual4) -> Dual4 { Dual4(a.v - b.v, a.d - b.d) }
    @inline(__always) static func * (a: Dual4, b: Dual4) -> Dual4 { Dual4(a.v * b.v, a.d * b.v + b.d * a.v) }
    @inline(__always) static func / (a: Dual4, b: Dual4) -> Dual4 { Dual4(a.v / b.v, (a.d * b.v - b.d * a.v) / (b.v * b.v)) }
    @inline(__always) static func + (a: Dual4, k: Float) -> Dual4 { Dual4(a.v + k, a.d) }
    @inline(__always) static func - (k: Float, a: Dual4) -> Dual4 { Dual4(k - a.v, -a.d) }
    @inline(__always) static func * (k: Float, a: Dual4) -> Dual4 { Dual4(k * a.v, k * a.d) }
    @inline(__always) static prefix func - (a: Dual4) -> Dual4 { Dual4(-a.v, -a.d) }

    @inline(__always) static func exp(_ a: Dual4) -> Dual4 { let e = expf(a.v); return Dual4(e, e * a.d) }
    @inline(__always) static func sqrt(_ a: Dual4) -> Dual4 { let r = a.v.squareRoot(); return Dual4(r, a.d / (2 * r)) }
    @inline(__always) static func abs(_ a: Dual4) -> Dual4 { a.v < 0 ? -a : a }
    @inline(__always) static func max(_ a: Dual4, _ b: Dual4) -> Dual4 { a.v >= b.v ? a : b }
    @inline(__always) static func min(_ a: Dual4, _ b: Dual4) -> Dual4 { a.v <= b.v ? a : b }
}
