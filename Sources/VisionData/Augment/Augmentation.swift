import Foundation
import Tensors

/// Train-time augmentation chosen in config, drawn per image from a `RandomState` (so a batch's
/// augmentation is a pure function of seed, epoch and index): zero-pad-and-crop, horizontal
/// flip, random resized crop, random affine (scale / translate), colour jitter. Geometry is one
/// `AxisMap`, so the same draw moves boxes exactly (`transform`).
public struct Augmentation: Sendable, Equatable {
    public struct ResizedCrop: Sendable, Equatable {
        public var scale: ClosedRange<Double>   // fraction of the image area kept
        public var ratio: ClosedRange<Double>   // aspect ratio w/h of the crop
        public init(scale: ClosedRange<Double> = 0.08...1, ratio: ClosedRange<Double> = 0.75...(4.0 / 3)) {
            self.scale = scale; self.ratio = ratio
        }
    }

    public struct Affine: Sendable, Equatable {
        public var scale: ClosedRange<Double>
        public var translate: Double             // fraction of width / height, each way
        public init(scale: ClosedRange<Double> = 0.9...1.1, translate: Double = 0.1) {
            self.scale = scale; self.translate = translate
        }
    }

    public struct ColorJitter: Sendable, Equatable {
        public var brightness: Double, contrast: Double, saturation: Double
        public init(brightness: Double = 0.4, contrast: Double = 0.4, saturation: Double = 0.4) {
            self.brightness = brightness; self.contrast = contrast; self.saturation = saturation
        }
    }

    public var padCrop: Int
    public var horizontalFlip: Bool
    public var resizedCrop: ResizedCrop?
    public var affine: Affine?
    public var colorJitter: ColorJitter?
    /// Probability of a four-image mosaic (detection loaders only).
    public var mosaic: Double = 0

    public init(padCrop: Int = 0, horizontalFlip: Bool = false, resizedCrop: ResizedCrop? = nil, affine: Affine? = nil,
                colorJitter: ColorJitter? = nil) {
        self.padCrop = padCrop
        self.horizontalFlip = horizontalFlip
        self.resizedCrop = resizedCrop
        self.affine = affine
        self.colorJitter = colorJitter
    }

    public static let none = Augmentation()

    /// Only integer shifts and mirroring: the exact, fast path.
    var isShiftOnly: Bool { resizedCrop == nil && affine == nil }

    /// Draws the geometry for a source of size w×h onto an output of size outW×outH.
    public func drawMap(width w: Int, height h: Int, outWidth: Int, outHeight: Int, rng: inout RandomState) -> AxisMap {
        var map = AxisMap.crop(x: 0, y: 0, width: Double(w), height: Double(h), toWidth: outWidth, toHeight: outHeight)
        if let rc = resizedCrop {
            // torchvision's RandomResizedCrop: ten tries at a crop inside the image, else centre.
            let area = Double(w * h)
            var chosen: (Double, Double, Double, Double)?
            for _ in 0..<10 {
                let target = area * uniform(rc.scale, &rng)
                let logRatio = uniform(log(rc.ratio.lowerBound)...log(rc.ratio.upperBound), &rng)
                let ratio = exp(logRatio)
                let cw = (target * ratio).squareRoot(), ch = (target / ratio).squareRoot()
                if cw <= Double(w), ch <= Double(h) {
                    chosen = (uniform(0...(Double(w) - cw), &rng), uniform(0...(Double(h) - ch), &rng), cw, ch)
                    break
                }
            }
            let (x, y, cw, ch) = chosen ?? (0, 0, Double(w), Double(h))
            map = AxisMap.crop(x: x, y: y, width: cw, height: ch, toWidth: outWidth, toHeight: outHeight)
        }
        return drawPlacement(outWidth: outWidth, outHeight: outHeight, rng: &rng).after(map)
    }

    /// The output-side geometry (random affine about the centre, pad-crop shift, flip) drawn
    /// for an outW×outH output: applied after whatever brought the source to that size.
    public func drawPlacement(outWidth: Int, outHeight: Int, rng: inout RandomState) -> AxisMap {
        var map = AxisMap.identity
        if let af = affine {
            let s = uniform(af.scale, &rng)
            let dx = uniform(-af.translate...af.translate, &rng) * Double(outWidth)
            let dy = uniform(-af.translate...af.translate, &rng) * Double(outHeight)
            let cx = Double(outWidth) / 2, cy = Double(outHeight) / 2
            map = AxisMap(sx: s, sy: s, tx: cx - s * cx + dx, ty: cy - s * cy + dy)
        }
        if padCrop > 0 {
            let dy = rng.nextInt(2 * padCrop + 1) - padCrop
            let dx = rng.nextInt(2 * padCrop + 1) - padCrop
            map = AxisMap(tx: Double(-dx), ty: Double(-dy)).after(map)
        }
        if horizontalFlip && rng.nextInt(2) == 1 { map = AxisMap.mirror(width: outWidth).after(map) }
        return map
    }

    /// Draws colour factors (brightness, contrast, saturation), or nil without jitter.
    public func drawColor(_ rng: inout RandomState) -> (Float, Float, Float)? {
        guard let cj = colorJitter else { return nil }
        func factor(_ amount: Double) -> Float { amount > 0 ? Float(uniform(max(0, 1 - amount)...(1 + amount), &rng)) : 1 }
        return (factor(cj.brightness), factor(cj.contrast), factor(cj.saturation))
    }

    /// Augments an image and its boxes together: boxes follow the geometry, are clipped to the
    /// output, and dropped when under `minVisible` of their area (or 2 px a side) remains.
    public func transform(_ image: PixelImage, boxes: [LabeledBox], outWidth: Int, outHeight: Int, fill: UInt8 = 114,
                          minVisible: Double = 0.25, rng: inout RandomState) -> (PixelImage, [LabeledBox]) {
        let map = drawMap(width: image.width, height: image.height, outWidth: outWidth, outHeight: outHeight, rng: &rng)
        var out = map.warp(image, width: outWidth, height: outHeight, fill: fill)
        if let (b, c, s) = drawColor(&rng) { Self.jitter(&out, brightness: b, contrast: c, saturation: s) }
        return (out, Self.clip(boxes.map(map.apply), width: outWidth, height: outHeight, minVisible: minVisible))
    }

    /// Boxes clipped to a width×height image, dropping those mostly outside or too thin.
    public static func clip(_ boxes: [LabeledBox], width: Int, height: Int, minVisible: Double) -> [LabeledBox] {
        boxes.compactMap { b in
            var c = b
            c.xmin = min(max(b.xmin, 0), Double(width)); c.xmax = min(max(b.xmax, 0), Double(width))
            c.ymin = min(max(b.ymin, 0), Double(height)); c.ymax = min(max(b.ymax, 0), Double(height))
            let area = b.width * b.height
            guard c.width >= 2, c.height >= 2, area > 0, c.width * c.height >= minVisible * area else { return nil }
            return c
        }
    }

    /// Brightness (scale), contrast (towards the mean grey) and saturation (towards each
    /// pixel's grey), in that order, on an 8-bit image.
    public static func jitter(_ image: inout PixelImage, brightness: Float, contrast: Float, saturation: Float) {
        let c = image.channels, n = image.width * image.height
        let colour = c >= 3
        var sum: Float = 0
        for i in 0..<n { sum += gray(image.pixels, i, c, colour) }
        let mean = sum / Float(n) * brightness
        image.pixels.withUnsafeMutableBufferPointer { p in
            @inline(__always) func adjust(_ x: UInt8) -> Float { (Float(x) * brightness - mean) * contrast + mean }
            @inline(__always) func store(_ v: Float) -> UInt8 { UInt8(min(255, max(0, v.rounded()))) }
            for i in 0..<n {
                let o = i * c
                if colour {
                    let r = adjust(p[o]), g = adjust(p[o + 1]), b = adjust(p[o + 2])
                    let grey = 0.299 * r + 0.587 * g + 0.114 * b
                    p[o] = store(grey + (r - grey) * saturation)
                    p[o + 1] = store(grey + (g - grey) * saturation)
                    p[o + 2] = store(grey + (b - grey) * saturation)
                } else {
                    p[o] = store(adjust(p[o]))
                }
            }
        }
    }

    @inline(__always) static func gray(_ p: [UInt8], _ i: Int, _ c: Int, _ colour: Bool) -> Float {
        colour ? 0.299 * Float(p[i * c]) + 0.587 * Float(p[i * c + 1]) + 0.114 * Float(p[i * c + 2]) : Float(p[i * c])
    }

    /// Writes one augmented, normalised planar image (C, H, W) from planar 8-bit `src` into
    /// `out` — the classification loader's per-item work.
    @inline(__always)
    func apply(_ src: UnsafePointer<UInt8>, into out: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int,
               scale: [Float], shift: [Float], rng: inout RandomState) {
        if isShiftOnly && colorJitter == nil {
            applyShift(src, into: out, channels: channels, height: height, width: width, scale: scale, shift: shift, rng: &rng)
            return
        }
        // General path: interleave, warp, jitter, normalise.
        let plane = height * width
        var image = PixelImage(width: width, height: height, channels: channels)
        for c in 0..<channels { for i in 0..<plane { image.pixels[i * channels + c] = src[c * plane + i] } }
        let map = drawMap(width: width, height: height, outWidth: width, outHeight: height, rng: &rng)
        var warped = map.warp(image, width: width, height: height, fill: 0)
        if let (b, c, s) = drawColor(&rng) { Self.jitter(&warped, brightness: b, contrast: c, saturation: s) }
        for c in 0..<channels {
            let a = scale[c], b = shift[c], dst = out + c * plane
            for i in 0..<plane { dst[i] = Float(warped.pixels[i * channels + c]) * a + b }
        }
    }

    /// Integer shift (pad-crop) and flip without resampling.
    @inline(__always)
    private func applyShift(_ src: UnsafePointer<UInt8>, into out: UnsafeMutablePointer<Float>, channels: Int, height: Int,
                            width: Int, scale: [Float], shift: [Float], rng: inout RandomState) {
        let dy = padCrop > 0 ? rng.nextInt(2 * padCrop + 1) - padCrop : 0
        let dx = padCrop > 0 ? rng.nextInt(2 * padCrop + 1) - padCrop : 0
        let flip = horizontalFlip && rng.nextInt(2) == 1
        for c in 0..<channels {
            let plane = src + c * height * width, dst = out + c * height * width
            let a = scale[c], b = shift[c]
            for y in 0..<height {
                let sy = y + dy
                let row = dst + y * width
                if sy < 0 || sy >= height {
                    for x in 0..<width { row[x] = b }  // padded pixels are 0 before normalisation
                    continue
                }
                for x in 0..<width {
                    let sx0 = flip ? width - 1 - x : x
                    let sx = sx0 + dx
                    row[x] = (sx < 0 || sx >= width) ? b : Float(plane[sy * width + sx]) * a + b
                }
            }
        }
    }
}

/// A uniform draw from a closed range.
@inline(__always) func uniform(_ range: ClosedRange<Double>, _ rng: inout RandomState) -> Double {
    range.lowerBound + Double(rng.nextFloat()) * (range.upperBound - range.lowerBound)
}
