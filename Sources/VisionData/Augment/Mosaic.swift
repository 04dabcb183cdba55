import Tensors

/// YOLO-style mosaic for detection: four images tiled around a random centre of a size×size
/// canvas. Each image is scaled (aspect kept) to cover its quadrant and anchored at the centre
/// corner; boxes follow, are clipped to their quadrant, and are dropped when under
/// `minVisible` of their area remains.
public enum Mosaic {
    public static func combine(_ tiles: [(image: PixelImage, boxes: [LabeledBox])], size: Int, fill: UInt8 = 114,
                               minVisible: Double = 0.25, rng: inout RandomState) -> (PixelImage, [LabeledBox]) {
        precondition(tiles.count == 4, "mosaic takes four images")
        let channels = tiles.map(\.image.channels).max()!
        let cx = Int(uniform(0.3...0.7, &rng) * Double(size)), cy = Int(uniform(0.3...0.7, &rng) * Double(size))
        var canvas = PixelImage(width: size, height: size, channels: channels, fill: fill)
        var boxes: [LabeledBox] = []
        // Quadrants: top-left, top-right, bottom-left, bottom-right as (x0, y0, x1, y1).
        let quadrants = [(0, 0, cx, cy), (cx, 0, size, cy), (0, cy, cx, size), (cx, cy, size, size)]
        for (tile, q) in zip(tiles, quadrants) {
            let qw = q.2 - q.0, qh = q.3 - q.1
            guard qw > 0, qh > 0 else { continue }
            let image = tile.image.channels == channels ? tile.image : ImageOps.convert(tile.image, channels: channels == 1 ? 1 : 3)
            let s = max(Double(qw) / Double(image.width), Double(qh) / Double(image.height))
            let w = Double(image.width) * s, h = Double(image.height) * s
            // Anchor the scaled image's corner nearest the centre at the centre; the map goes
            // straight to quadrant coordinates, so only the quadrant is resampled.
            let ox = q.0 == 0 ? Double(q.2) - w : Double(q.0)
            let oy = q.1 == 0 ? Double(q.3) - h : Double(q.1)
            let map = AxisMap(sx: s, sy: s, tx: ox - Double(q.0), ty: oy - Double(q.1))
            ImageOps.paste(map.warp(image, width: qw, height: qh, fill: fill), into: &canvas, x: q.0, y: q.1)
            for var b in Augmentation.clip(tile.boxes.map(map.apply), width: qw, height: qh, minVisible: minVisible) {
                b.xmin += Double(q.0); b.xmax += Double(q.0); b.ymin += Double(q.1); b.ymax += Double(q.1)
                boxes.append(b)
            }
        }
        return (canvas, boxes)
    }
}
