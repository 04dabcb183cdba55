/// An axis-aligned affine map from source to output pixel coordinates:
/// x' = sx·x + tx, y' = sy·y + ty (sx < 0 mirrors). Images are resampled through its inverse;
/// boxes map through it exactly, so image and boxes stay in register.
public struct AxisMap: Sendable, Equatable {
    public var sx: Double, sy: Double, tx: Double, ty: Double

    public init(sx: Double = 1, sy: Double = 1, tx: Double = 0, ty: Double = 0) {
        self.sx = sx; self.sy = sy; self.tx = tx; self.ty = ty
    }

    public static let identity = AxisMap()

    /// `self` after `first`.
    public func after(_ first: AxisMap) -> AxisMap {
        AxisMap(sx: sx * first.sx, sy: sy * first.sy, tx: sx * first.tx + tx, ty: sy * first.ty + ty)
    }

    /// The source rectangle (x, y, w, h) stretched onto a w'×h' output.
    public static func crop(x: Double, y: Double, width: Double, height: Double, toWidth: Int, toHeight: Int) -> AxisMap {
        let sx = Double(toWidth) / width, sy = Double(toHeight) / height
        return AxisMap(sx: sx, sy: sy, tx: -x * sx, ty: -y * sy)
    }

    /// Mirror across a width-`w` image.
    public static func mirror(width: Int) -> AxisMap { AxisMap(sx: -1, tx: Double(width)) }

    /// A box under the map (corners reordered when mirrored).
    public func apply(_ b: LabeledBox) -> LabeledBox {
        let x1 = sx * b.xmin + tx, x2 = sx * b.xmax + tx, y1 = sy * b.ymin + ty, y2 = sy * b.ymax + ty
        return LabeledBox(xmin: min(x1, x2), ymin: min(y1, y2), xmax: max(x1, x2), ymax: max(y1, y2), category: b.category)
    }

    /// Resamples an 8-bit interleaved image (bilinear, pixel centres at +0.5) onto a
    /// width×height output; outside the source is `fill`.
    public func warp(_ image: PixelImage, width: Int, height: Int, fill: UInt8) -> PixelImage {
        var out = PixelImage(width: width, height: height, channels: image.channels, fill: fill)
        let c = image.channels, sw = image.width, sh = image.height
        let isx = 1 / sx, isy = 1 / sy
        image.pixels.withUnsafeBufferPointer { src in
            out.pixels.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let fy = ((Double(y) + 0.5) - ty) * isy - 0.5
                    guard fy > -1, fy < Double(sh) else { continue }
                    let y0 = Int(fy.rounded(.down)), wy = Float(fy - Double(y0))
                    for x in 0..<width {
                        let fx = ((Double(x) + 0.5) - tx) * isx - 0.5
                        guard fx > -1, fx < Double(sw) else { continue }
                        let x0 = Int(fx.rounded(.down)), wx = Float(fx - Double(x0))
                        for k in 0..<c {
                            @inline(__always) func at(_ xx: Int, _ yy: Int) -> Float {
                                xx < 0 || yy < 0 || xx >= sw || yy >= sh ? Float(fill) : Float(src[(yy * sw + xx) * c + k])
                            }
                            let top = at(x0, y0) * (1 - wx) + at(x0 + 1, y0) * wx
                            let bottom = at(x0, y0 + 1) * (1 - wx) + at(x0 + 1, y0 + 1) * wx
                            dst[(y * width + x) * c + k] = UInt8(min(255, max(0, (top * (1 - wy) + bottom * wy).rounded())))
                        }
                    }
                }
            }
        }
        return out
    }
}
