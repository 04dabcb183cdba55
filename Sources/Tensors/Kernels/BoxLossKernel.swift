import Foundation

/// The overlap measure a box loss uses: 1 − IoU, 1 − GIoU (Rezatofighi et al., 2019) or
/// 1 − SIoU (Gevorgyan, 2022: IoU less half of the angle-aware distance cost and the shape cost).
public enum BoxOverlap: String, Sendable, CaseIterable {
    case iou, giou, siou
}

/// Box losses over (N, 4) xyxy predictions and targets: mean(1 − overlap), forward and
/// backward side by side. Degenerate boxes give finite values (eps in every denominator).
public enum BoxLossKernel {
    static let eps: Float = 1e-7

    public static func forward(_ p: UnsafePointer<Float>, _ t: UnsafePointer<Float>, count: Int, overlap: BoxOverlap) -> Float {
        var s: Double = 0
        for b in 0..<count { s += Double(1 - measure(p + 4 * b, t + 4 * b, overlap).value) }
        return Float(s / Double(max(count, 1)))
    }

    public static func backward(_ dp: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, _ t: UnsafePointer<Float>,
                                count: Int, overlap: BoxOverlap, scale: Float) {
        let k = -scale / Float(max(count, 1))
        for b in 0..<count {
            let g = measure(p + 4 * b, t + 4 * b, overlap).gradient
            for j in 0..<4 { dp[4 * b + j] = k * g[j] }
        }
    }

    /// The overlap of box p with t and its gradient with respect to p's four coordinates.
    static func measure(_ p: UnsafePointer<Float>, _ t: UnsafePointer<Float>, _ overlap: BoxOverlap) -> (value: Float, gradient: SIMD4<Float>) {
        switch overlap {
        case .iou: iou(p, t, generalized: false)
        case .giou: iou(p, t, generalized: true)
        case .siou: siou(p, t)
        }
    }

    static func iou(_ p: UnsafePointer<Float>, _ t: UnsafePointer<Float>, generalized: Bool) -> (value: Float, gradient: SIMD4<Float>) {
        let pw = p[2] - p[0], ph = p[3] - p[1]
        let tw = t[2] - t[0], th = t[3] - t[1]
        let ap = pw * ph, at = tw * th
        let ix1 = max(p[0], t[0]), iy1 = max(p[1], t[1]), ix2 = min(p[2], t[2]), iy2 = min(p[3], t[3])
        let iw = max(ix2 - ix1, 0), ih = max(iy2 - iy1, 0)
        let inter = iw * ih
        let union = ap + at - inter + eps
        let value = inter / union
        // d(inter)/dp: each corner moves the intersection only while it bounds it.
        var dInter = SIMD4<Float>(repeating: 0)
        if iw > 0 && ih > 0 {
            if p[0] > t[0] { dInter[0] = -ih }
            if p[2] < t[2] { dInter[2] = ih }
            if p[1] > t[1] { dInter[1] = -iw }
            if p[3] < t[3] { dInter[3] = iw }
        }
        let dArea = SIMD4<Float>(-ph, -pw, ph, pw)
        let dUnion = dArea - dInter
        var gradient = (dInter * union - inter * dUnion) / (union * union)
        guard generalized else { return (value, gradient) }
        let cx1 = min(p[0], t[0]), cy1 = min(p[1], t[1]), cx2 = max(p[2], t[2]), cy2 = max(p[3], t[3])
        let cw = cx2 - cx1, ch = cy2 - cy1
        let enclose = cw * ch + eps
        var dEnclose = SIMD4<Float>(repeating: 0)
        if p[0] < t[0] { dEnclose[0] = -ch }
        if p[2] > t[2] { dEnclose[2] = ch }
        if p[1] < t[1] { dEnclose[1] = -cw }
        if p[3] > t[3] { dEnclose[3] = cw }
        // giou = iou − 1 + union / enclose
        gradient += (dUnion * enclose - union * dEnclose) / (enclose * enclose)
        return (value - 1 + union / enclose, gradient)
    }

    /// SIoU = IoU − (Δ + Ω) / 2. With the centre offset (dx, dy), σ² = dx² + dy² and the
    /// enclosing box cw × ch: angle cost Λ = sin 2α = 2|dx||dy| / σ², distance cost
    /// Δ = Σ (1 − e^{−(2 − Λ)ρ}) over ρx = (dx/cw)², ρy = (dy/ch)², shape cost
    /// Ω = Σ (1 − e^{−ω})⁴ over ω = |w − w_gt| / max(w, w_gt) and the same for heights.
    /// The derivative comes from forward-mode dual numbers.
    static func siou(_ p: UnsafePointer<Float>, _ t: UnsafePointer<Float>) -> (value: Float, gradient: SIMD4<Float>) {
        let x1 = Dual4.input(p[0], 0), y1 = Dual4.input(p[1], 1), x2 = Dual4.input(p[2], 2), y2 = Dual4.input(p[3], 3)
        let tx1 = Dual4(t[0]), ty1 = Dual4(t[1]), tx2 = Dual4(t[2]), ty2 = Dual4(t[3])
        let w = x2 - x1, h = y2 - y1, tw = tx2 - tx1, th = ty2 - ty1
        let iw = Dual4.max(Dual4.min(x2, tx2) - Dual4.max(x1, tx1), Dual4(0))
        let ih = Dual4.max(Dual4.min(y2, ty2) - Dual4.max(y1, ty1), Dual4(0))
        let inter = iw * ih
        let iou = inter / (w * h + tw * th - inter + eps)
        let cw = Dual4.max(x2, tx2) - Dual4.min(x1, tx1) + eps, ch = Dual4.max(y2, ty2) - Dual4.min(y1, ty1) + eps
        let dx = 0.5 * (tx1 + tx2 - x1 - x2) + eps, dy = 0.5 * (ty1 + ty2 - y1 - y2) + eps
        let sigma2 = dx * dx + dy * dy
        let angle = 2 * (Dual4.abs(dx) * Dual4.abs(dy)) / sigma2
        let gamma = angle - Dual4(2)
        let distance = 2 - Dual4.exp(gamma * (dx / cw) * (dx / cw)) - Dual4.exp(gamma * (dy / ch) * (dy / ch))
        func shape(_ a: Dual4, _ b: Dual4) -> Dual4 {
            let q = 1 - Dual4.exp(-(Dual4.abs(a - b) / (Dual4.max(a, b) + eps)))
            return q * q * q * q
        }
        let result = iou - 0.5 * (distance + shape(w, tw) + shape(h, th))
        return (result.v, result.d)
    }
}
