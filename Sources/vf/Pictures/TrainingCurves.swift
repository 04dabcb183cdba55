import Foundation
import VisionData

/// A job's training curves as a picture: the training loss over steps on the left, the
/// validation metric per epoch on the right, each with its axis range written out.
enum TrainingCurves {
    static func draw(title: String, losses: [Double], metricName: String, metric: [(epoch: Int, value: Double)]) -> PixelImage {
        let panelWidth = 440, panelHeight = 300, margin = 56, top = 44
        var canvas = Canvas(width: 2 * panelWidth + 3 * margin, height: top + 12 + panelHeight + 28)
        canvas.text(title, x: margin, y: 12, Canvas.black, scale: 2)
        panel(&canvas, x: margin, y: top + 12, width: panelWidth, height: panelHeight, label: "training loss",
              points: losses.enumerated().map { (Double($0.offset + 1), $0.element) }, color: Canvas.palette[0], xName: "report",
              dots: losses.count <= 24)
        panel(&canvas, x: 2 * margin + panelWidth, y: top + 12, width: panelWidth, height: panelHeight, label: "validation \(metricName) by epoch",
              points: metric.map { (Double($0.epoch), $0.value) }, color: Canvas.palette[1], xName: "epoch", dots: true)
        return canvas.image
    }

    private static func panel(_ canvas: inout Canvas, x: Int, y: Int, width: Int, height: Int, label: String,
                              points: [(Double, Double)], color: Canvas.Color, xName: String, dots: Bool) {
        canvas.fill(x: x, y: y, width: width, height: height, (248, 248, 248))
        canvas.strokeRect(x0: x, y0: y, x1: x + width - 1, y1: y + height - 1, Canvas.grey, thickness: 1)
        canvas.text(label, x: x, y: y - 20, Canvas.black, scale: 2)
        guard !points.isEmpty else {
            canvas.text("no data", x: x + width / 2 - 40, y: y + height / 2, Canvas.grey, scale: 2)
            return
        }
        let xs = points.map(\.0), ys = points.map(\.1).filter(\.isFinite)
        let x0 = xs.min()!, x1 = max(xs.max()!, x0 + 1)
        var y0 = ys.min() ?? 0, y1 = ys.max() ?? 1
        if y1 - y0 < 1e-9 { y0 -= 0.5; y1 += 0.5 }
        let pad = (y1 - y0) * 0.08
        y0 -= pad; y1 += pad
        func px(_ v: Double) -> Int { x + 4 + Int((v - x0) / (x1 - x0) * Double(width - 8)) }
        func py(_ v: Double) -> Int { y + height - 4 - Int((v - y0) / (y1 - y0) * Double(height - 8)) }
        // Grid lines at quarters, with their values.
        for q in 0...4 {
            let v = y0 + (y1 - y0) * Double(q) / 4
            canvas.line(x + 1, py(v), x + width - 2, py(v), Canvas.lightGrey)
            canvas.text(String(format: "%.3g", v), x: x - 50, y: py(v) - 4, Canvas.black, scale: 1)
        }
        canvas.text(String(format: "%.0f", x0), x: x, y: y + height + 6, Canvas.black, scale: 1)
        let right = String(format: "%.0f %@", x1, xName)
        canvas.text(right, x: x + width - Canvas.textWidth(right, scale: 1), y: y + height + 6, Canvas.black, scale: 1)
        let finite = points.filter { $0.1.isFinite }
        for (a, b) in zip(finite, finite.dropFirst()) { canvas.line(px(a.0), py(a.1), px(b.0), py(b.1), color, thickness: 2) }
        if dots {
            for p in finite {
                canvas.fill(x: px(p.0) - 3, y: py(p.1) - 3, width: 7, height: 7, color)
                let text = String(format: "%.3f", p.1)
                canvas.text(text, x: min(px(p.0) + 6, x + width - Canvas.textWidth(text, scale: 1) - 2), y: py(p.1) - 12, Canvas.black, scale: 1)
            }
        }
    }
}
