import FleetProtos
import VisionData

/// An image with its detections drawn: a box per object in its class's colour, and a label
/// "class 0.93" on a filled tab above it. Small images are scaled up so labels stay legible.
enum DetectionPicture {
    static func draw(_ picture: PixelImage, detections: [Visionfleet_V1_Detection], minimumSide: Int = 384) -> PixelImage {
        let scale = max(1, (minimumSide + max(picture.width, picture.height) - 1) / max(picture.width, picture.height, 1))
        var canvas = Canvas(picture: picture, scale: scale)
        let textScale = canvas.width >= 640 ? 2 : 1 + (canvas.width >= 256 ? 1 : 0)
        // Draw the weakest first so the strongest boxes and labels end on top.
        for d in detections.sorted(by: { $0.score < $1.score }) {
            let color = Canvas.color(ofClass: Int(d.classID))
            let b = d.box
            let x0 = Int((b.xMin * Float(scale)).rounded()), y0 = Int((b.yMin * Float(scale)).rounded())
            let x1 = Int((b.xMax * Float(scale)).rounded()) - 1, y1 = Int((b.yMax * Float(scale)).rounded()) - 1
            canvas.strokeRect(x0: x0, y0: y0, x1: x1, y1: y1, color, thickness: max(2, scale / 2 + 1))
            let label = "\(d.label.isEmpty ? "class \(d.classID)" : d.label) \(String(format: "%.2f", d.score))"
            let th = Canvas.textHeight(scale: textScale)
            let ty = y0 - th - textScale >= 0 ? y0 - th - textScale : y0 + textScale + 2
            let tx = min(max(0, x0 + textScale), max(0, canvas.width - Canvas.textWidth(label, scale: textScale) - textScale))
            canvas.text(label, x: tx, y: ty, Canvas.ink(on: color), scale: textScale, background: color)
        }
        return canvas.image
    }
}
