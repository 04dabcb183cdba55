import Foundation

/// Detection helpers with backward side by side: YOLOX box decoding on a grid and row
/// gather / scatter.
enum DetectionKernel {
    static let maxLogSize: Float = 10

    /// raw (rows, width) with (tx, ty, tw, th) in columns 0–3; anchors (gx, gy, stride) per row
    /// → xyxy (rows, 4): centre (t + g)·s, size exp(t)·s.
    static func decodeBoxes(_ y: UnsafeMutablePointer<Float>, _ raw: UnsafePointer<Float>, width: Int,
                            anchors: UnsafePointer<Float>, rows: Int) {
        for r in 0..<rows {
            let p = raw + r * width, a = anchors + r * 3, s = a[2]
            let cx = (p[0] + a[0]) * s, cy = (p[1] + a[1]) * s
            let w = expf(min(p[2], maxLogSize)) * s, h = expf(min(p[3], maxLogSize)) * s
            y[r * 4] = cx - w / 2; y[r * 4 + 1] = cy - h / 2; y[r * 4 + 2] = cx + w / 2; y[r * 4 + 3] = cy + h / 2
        }
    }

    /// d raw (columns 0–3 written, the rest zero) from d boxes.
    static func decodeBoxesBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ raw: UnsafePointer<Float>,
                                    width: Int, anchors: UnsafePointer<Float>, rows: Int) {
        dx.update(repeating: 0, count: rows * width)
        for r in 0..<rows {
            let p = raw + r * width, s = anchors[r * 3 + 2], g = dy + r * 4, d = dx + r * width
            let w = expf(min(p[2], maxLogSize)) * s, h = expf(min(p[3], maxLogSize)) * s
            d[0] = s * (g[0] + g[2])
            d[1] = s * (g[1] + g[3])
            d[2] = p[2] < maxLogSize ? (w / 2) * (g[2] - g[0]) : 0
            d[3] = p[3] < maxLogSize ? (h / 2) * (g[3] - g[1]) : 0
        }
    }

    static func gather(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: [Int], width: Int) {
        for (i, r) in rows.enumerated() { (y + i * width).update(from: x + r * width, count: width) }
    }

    static func gatherBackward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, rows: [Int], width: Int, sourceRows: Int) {
        dx.update(repeating: 0, count: sourceRows * width)
        for (i, r) in rows.enumerated() { for j in 0..<width { dx[r * width + j] += dy[i * width + j] } }
    }
}
