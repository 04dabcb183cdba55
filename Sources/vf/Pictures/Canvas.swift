import VisionData

/// An RGB picture to draw results on: filled and outlined rectangles, lines, text in the
/// bitmap font, and other images pasted in (scaled, grey made RGB).
struct Canvas {
    typealias Color = (r: UInt8, g: UInt8, b: UInt8)

    static let white: Color = (255, 255, 255)
    static let black: Color = (0, 0, 0)
    static let grey: Color = (150, 150, 150)
    static let lightGrey: Color = (225, 225, 225)
    /// Distinct colours, one per class (Tableau 10).
    static let palette: [Color] = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
                                   (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]

    static func color(ofClass index: Int) -> Color { palette[((index % palette.count) + palette.count) % palette.count] }

    private(set) var image: PixelImage

    var width: Int { image.width }
    var height: Int { image.height }

    init(width: Int, height: Int, background: Color = white) {
        image = PixelImage(width: width, height: height, channels: 3)
        fill(x: 0, y: 0, width: width, height: height, background)
    }

    /// A canvas holding `picture` (grey or RGBA made RGB) scaled by `scale`.
    init(picture: PixelImage, scale: Int = 1) {
        self.init(width: picture.width * scale, height: picture.height * scale)
        paste(picture, x: 0, y: 0, width: picture.width * scale, height: picture.height * scale)
    }

    mutating func set(_ x: Int, _ y: Int, _ c: Color) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        image.pixels[i] = c.r; image.pixels[i + 1] = c.g; image.pixels[i + 2] = c.b
    }

    mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ c: Color) {
        let x0 = max(0, x), x1 = min(width, x + w), y0 = max(0, y), y1 = min(height, y + h)
        guard x0 < x1, y0 < y1 else { return }
        for yy in y0..<y1 {
            for xx in x0..<x1 { set(xx, yy, c) }
        }
    }

    /// A rectangle's outline `thickness` pixels wide, inside (x0, y0)–(x1, y1).
    mutating func strokeRect(x0: Int, y0: Int, x1: Int, y1: Int, _ c: Color, thickness: Int = 2) {
        fill(x: x0, y: y0, width: x1 - x0 + 1, height: thickness, c)
        fill(x: x0, y: y1 - thickness + 1, width: x1 - x0 + 1, height: thickness, c)
        fill(x: x0, y: y0, width: thickness, height: y1 - y0 + 1, c)
        fill(x: x1 - thickness + 1, y: y0, width: thickness, height: y1 - y0 + 1, c)
    }

    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: Color, thickness: Int = 1) {
        let steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for s in 0...steps {
            let x = x0 + (x1 - x0) * s / steps, y = y0 + (y1 - y0) * s / steps
            fill(x: x - thickness / 2, y: y - thickness / 2, width: thickness, height: thickness, c)
        }
    }

    static func textWidth(_ text: String, scale: Int) -> Int { max(0, text.count * BitmapFont.advance * scale - scale) }
    static func textHeight(scale: Int) -> Int { BitmapFont.glyphHeight * scale }

    /// `text` with its top-left at (x, y); `background` fills a box behind it (labels on photos).
    mutating func text(_ text: String, x: Int, y: Int, _ c: Color, scale: Int = 2, background: Color? = nil) {
        if let background {
            fill(x: x - scale, y: y - scale, width: Self.textWidth(text, scale: scale) + 2 * scale,
                 height: Self.textHeight(scale: scale) + scale, background)
        }
        var cx = x
        for ch in text {
            for (col, bits) in BitmapFont.columns(ch).enumerated() {
                for row in 0..<BitmapFont.glyphHeight where bits & (1 << row) != 0 {
                    fill(x: cx + col * scale, y: y + row * scale, width: scale, height: scale, c)
                }
            }
            cx += BitmapFont.advance * scale
        }
    }

    /// Pastes `picture` into the box (x, y, w, h), scaled with nearest neighbours.
    mutating func paste(_ picture: PixelImage, x: Int, y: Int, width w: Int, height h: Int) {
        let rgb = picture.channels == 3 ? picture : ImageOps.convert(picture, channels: 3)
        for yy in 0..<h {
            let sy = min(rgb.height - 1, yy * rgb.height / max(h, 1))
            for xx in 0..<w {
                let sx = min(rgb.width - 1, xx * rgb.width / max(w, 1))
                set(x + xx, y + yy, (rgb[sx, sy, 0], rgb[sx, sy, 1], rgb[sx, sy, 2]))
            }
        }
    }

    /// A label colour that reads on `background` (black on light colours, white on dark).
    static func ink(on background: Color) -> Color {
        let luminance = 0.299 * Double(background.r) + 0.587 * Double(background.g) + 0.114 * Double(background.b)
        return luminance > 150 ? black : white
    }
}
