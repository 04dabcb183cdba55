/// Geometry and colour operations on 8-bit images: the preprocessing that training and
/// serving share.
public enum ImageOps {
    /// Bilinear resize with half-pixel centres (as OpenCV's INTER_LINEAR and PIL without
    /// antialiasing).
    public static func resize(_ image: PixelImage, width: Int, height: Int) -> PixelImage {
        precondition(width > 0 && height > 0, "resize to an empty image")
        if width == image.width && height == image.height { return image }
        let c = image.channels, sw = image.width, sh = image.height
        var out = [UInt8](repeating: 0, count: width * height * c)
        let sx = Float(sw) / Float(width), sy = Float(sh) / Float(height)
        // Column taps are the same for every row: compute once.
        var x0 = [Int](repeating: 0, count: width), x1 = x0, fx = [Float](repeating: 0, count: width)
        for x in 0..<width {
            let f = max(0, (Float(x) + 0.5) * sx - 0.5)
            let i = min(Int(f), sw - 1)
            x0[x] = i
            x1[x] = min(i + 1, sw - 1)
            fx[x] = f - Float(i)
        }
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let f = max(0, (Float(y) + 0.5) * sy - 0.5)
                    let y0 = min(Int(f), sh - 1), y1 = min(y0 + 1, sh - 1), wy = f - Float(y0)
                    let r0 = y0 * sw * c, r1 = y1 * sw * c, o = y * width * c
                    for x in 0..<width {
                        let a = x0[x] * c, b = x1[x] * c, wx = fx[x]
                        for k in 0..<c {
                            let top = Float(src[r0 + a + k]) * (1 - wx) + Float(src[r0 + b + k]) * wx
                            let bottom = Float(src[r1 + a + k]) * (1 - wx) + Float(src[r1 + b + k]) * wx
                            dst[o + x * c + k] = UInt8(min(255, max(0, (top * (1 - wy) + bottom * wy).rounded())))
                        }
                    }
                }
            }
        }
        return PixelImage(width: width, height: height, channels: c, pixels: out)
    }

    /// Where a letterboxed image sits: boxes map as `x * scale + padX`.
    public struct Letterbox: Sendable, Equatable {
        public let scale: Float
        public let padX: Int
        public let padY: Int

        public init(scale: Float, padX: Int, padY: Int) {
            self.scale = scale; self.padX = padX; self.padY = padY
        }

        /// No letterbox: network pixels are image pixels.
        public static let identity = Letterbox(scale: 1, padX: 0, padY: 0)

        /// Where a w×h image goes when fitted into W×H keeping its aspect ratio, centred, and
        /// the size it is resized to.
        public static func fitting(width w: Int, height h: Int, into outWidth: Int, _ outHeight: Int)
            -> (box: Letterbox, width: Int, height: Int) {
            let scale = min(Float(outWidth) / Float(w), Float(outHeight) / Float(h))
            let nw = max(1, min(outWidth, Int((Float(w) * scale).rounded())))
            let nh = max(1, min(outHeight, Int((Float(h) * scale).rounded())))
            return (Letterbox(scale: scale, padX: (outWidth - nw) / 2, padY: (outHeight - nh) / 2), nw, nh)
        }
    }

    /// Fits the image into width×height keeping its aspect ratio, centred on `fill`.
    public static func letterbox(_ image: PixelImage, width: Int, height: Int, fill: UInt8 = 114) -> (PixelImage, Letterbox) {
        let fit = Letterbox.fitting(width: image.width, height: image.height, into: width, height)
        var canvas = PixelImage(width: width, height: height, channels: image.channels, fill: fill)
        paste(resize(image, width: fit.width, height: fit.height), into: &canvas, x: fit.box.padX, y: fit.box.padY)
        return (canvas, fit.box)
    }

    /// The region [x, x+width) × [y, y+height); parts outside the image are `fill`.
    public static func crop(_ image: PixelImage, x: Int, y: Int, width: Int, height: Int, fill: UInt8 = 0) -> PixelImage {
        var out = PixelImage(width: width, height: height, channels: image.channels, fill: fill)
        let c = image.channels
        let xs = max(0, -x), xe = min(width, image.width - x)
        guard xs < xe else { return out }
        for oy in 0..<height {
            let sy = y + oy
            guard sy >= 0 && sy < image.height else { continue }
            let src = (sy * image.width + x + xs) * c, dst = (oy * width + xs) * c
            out.pixels.replaceSubrange(dst..<(dst + (xe - xs) * c), with: image.pixels[src..<(src + (xe - xs) * c)])
        }
        return out
    }

    /// Copies `image` into `canvas` with its top-left corner at (x, y), clipped.
    public static func paste(_ image: PixelImage, into canvas: inout PixelImage, x: Int, y: Int) {
        precondition(image.channels == canvas.channels, "channel counts differ")
        let c = image.channels
        let xs = max(0, -x), xe = min(image.width, canvas.width - x)
        guard xs < xe else { return }
        for sy in 0..<image.height {
            let dy = y + sy
            guard dy >= 0 && dy < canvas.height else { continue }
            let src = (sy * image.width + xs) * c, dst = (dy * canvas.width + x + xs) * c
            canvas.pixels.replaceSubrange(dst..<(dst + (xe - xs) * c), with: image.pixels[src..<(src + (xe - xs) * c)])
        }
    }

    /// Mirror left to right.
    public static func flipHorizontal(_ image: PixelImage) -> PixelImage {
        var out = image
        let c = image.channels, w = image.width
        for y in 0..<image.height {
            for x in 0..<w {
                for k in 0..<c { out.pixels[(y * w + x) * c + k] = image.pixels[(y * w + (w - 1 - x)) * c + k] }
            }
        }
        return out
    }

    /// Gray+alpha → gray, RGBA → RGB.
    public static func dropAlpha(_ image: PixelImage) -> PixelImage {
        guard image.channels == 2 || image.channels == 4 else { return image }
        let keep = image.channels - 1
        var out = [UInt8](repeating: 0, count: image.width * image.height * keep)
        for i in 0..<(image.width * image.height) {
            for k in 0..<keep { out[i * keep + k] = image.pixels[i * image.channels + k] }
        }
        return PixelImage(width: image.width, height: image.height, channels: keep, pixels: out)
    }

    /// The image with 1 (gray, BT.601 luma) or 3 (RGB) channels.
    public static func convert(_ image: PixelImage, channels: Int) -> PixelImage {
        precondition(channels == 1 || channels == 3, "convert to gray or RGB")
        let flat = dropAlpha(image)
        if flat.channels == channels { return flat }
        let n = flat.width * flat.height
        var out = [UInt8](repeating: 0, count: n * channels)
        if channels == 3 {
            for i in 0..<n { let v = flat.pixels[i]; out[3 * i] = v; out[3 * i + 1] = v; out[3 * i + 2] = v }
        } else {
            for i in 0..<n {
                let r = Float(flat.pixels[3 * i]), g = Float(flat.pixels[3 * i + 1]), b = Float(flat.pixels[3 * i + 2])
                out[i] = UInt8(min(255, (0.299 * r + 0.587 * g + 0.114 * b).rounded()))
            }
        }
        return PixelImage(width: flat.width, height: flat.height, channels: channels, pixels: out)
    }

    /// Planar (C, H, W) 8-bit copy of an interleaved image: the layout datasets keep in memory.
    public static func planar(_ image: PixelImage) -> [UInt8] {
        let c = image.channels, n = image.width * image.height
        if c == 1 { return image.pixels }
        var out = [UInt8](repeating: 0, count: n * c)
        for i in 0..<n { for k in 0..<c { out[k * n + i] = image.pixels[i * c + k] } }
        return out
    }

    /// Normalised planar floats: (pixel / 255 - mean[c]) / std[c], written into `out`
    /// (C × H × W values).
    public static func normalize(_ image: PixelImage, mean: [Float], std: [Float], into out: UnsafeMutableBufferPointer<Float>) {
        let c = image.channels, n = image.width * image.height
        precondition(mean.count == c && std.count == c && out.count == c * n, "normalisation does not match the image")
        image.pixels.withUnsafeBufferPointer { src in
            for k in 0..<c {
                let a = 1 / (255 * std[k]), b = -mean[k] / std[k]
                let plane = out.baseAddress! + k * n
                for i in 0..<n { plane[i] = Float(src[i * c + k]) * a + b }
            }
        }
    }
}
