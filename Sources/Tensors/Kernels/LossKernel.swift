import Foundation

/// Elementwise and box losses (means over elements / boxes), forward and backward side by side.
public enum LossKernel {
    /// mean(max(x,0) − x·t + log(1 + e^{−|x|})), numerically stable.
    public static func bceWithLogits(_ x: UnsafePointer<Float>, _ t: UnsafePointer<Float>, count: Int) -> Float {
        var s: Double = 0
        for i in 0..<count { s += Double(max(x[i], 0) - x[i] * t[i] + log1pf(expf(-abs(x[i])))) }
        return Float(s / Double(max(count, 1)))
    }

    public static func bceWithLogitsBackward(_ dx: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ t: UnsafePointer<Float>,
                                             count: Int, scale: Float) {
        let k = scale / Float(max(count, 1))
        for i in 0..<count { dx[i] = k * (1 / (1 + expf(-x[i])) - t[i]) }
    }

    /// mean of 0.5·d²/β for |d| < β, else |d| − 0.5·β, with d = x − t.
    public static func smoothL1(_ x: UnsafePointer<Float>, _ t: UnsafePointer<Float>, count: Int, beta: Float) -> Float {
        var s: Double = 0
        for i in 0..<count {
            let d = abs(x[i] - t[i])
            s += Double(d < beta ? 0.5 * d * d / beta : d - 0.5 * beta)
        }
        return Float(s / Double(max(count, 1)))
    }

    public static func smoothL1Backward(_ dx: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ t: UnsafePointer<Float>,
                                        count: Int, beta: Float, scale: Float) {
        let k = scale / Float(max(count, 1))
        for i in 0..<count {
            let d = x[i] - t[i]
            dx[i] = k * (abs(d) < beta ? d / beta : (d > 0 ? 1 : -1))
        }
    }

    static let eps: Float = 1e-7

    /// mean(1 − IoU) or mean(1 − GIoU) of predicted against target boxes, (N, 4) xyxy.
    /// Degenerate boxes give finite values (eps in every denominator).
    public static func boxLoss(_ p: UnsafePointer<Float>, _ t: UnsafePointer<Float>, count: Int, generalized: Bool) -> Float {
        var s: Double = 0
        for b in 0..<count { s += Double(1 - iou(p + 4 * b, t + 4 * b, generalized: generalized).value) }
        return Float(s / Double(max(count, 1)))
    }

    public static func boxLossBackward(_ dp: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>, _ t: UnsafePointer<Float>,
                                       count: Int, generalized: Bool, scale: Float) {
        let k = -scale / Float(max(count, 1))
        for b in 0..<count {
            let g = iou(p + 4 * b, t + 4 * b, generalized: generalized).gradient
            for j in 0..<4 { dp[4 * b + j] = k * g[j] }
        }
    }

    /// (G)IoU of box p against t and its gradient with respect to p's four coordinates.
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
}
