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
    /// width×height output; outside the source is `fill`. The map is axis-aligned, so source
    /// columns and weights are worked out once per output column and reused on every row.
    public func warp(_ image: PixelImage, width: Int, height: Int, fill: UInt8) -> PixelImage {
        var out = PixelImage(width: width, height: height, channels: image.channels, fill: fill)
        let c = image.channels, sw = image.width, sh = image.height
        let isx = 1 / sx, isy = 1 / sy
        // Per output column: the left source column (or −2 when the column samples nothing).
        var columns = [Int](repeating: -2, count: width), weights = [Float](repeating: 0, count: width)
        for x in 0..<width {
            let fx = ((Double(x) + 0.5) - tx) * isx - 0.5
            guard fx > -1, fx < Double(sw) else { continue }
            let x0 = Int(fx.rounded(.down))
            columns[x] = x0
            weights[x] = Float(fx - Double(x0))
        }
        let background = Float(fill)
        image.pixels.withUnsafeBufferPointer { src in
            out.pixels.withUnsafeMutableBufferPointer { dst in
                columns.withUnsafeBufferPointer { cols in
                    weights.withUnsafeBufferPointer { wxs in
                        for y in 0..<height {
                            let fy = ((Double(y) + 0.5) - ty) * isy - 0.5
                            guard fy > -1, fy < Double(sh) else { continue }
                            let y0 = Int(fy.rounded(.down)), wy = Float(fy - Double(y0))
                            let row0 = y0 >= 0 ? y0 * sw * c : -1, row1 = y0 + 1 < sh ? (y0 + 1) * sw * c : -1
                            let outRow = y * width * c
                            for x in 0..<width {
                                let x0 = cols[x]
                                guard x0 > -2 else { continue }
                                let wx = wxs[x]
                                let left = x0 >= 0 ? x0 * c : -1, right = x0 + 1 < sw ? (x0 + 1) * c : -1
                                for k in 0..<c {
                                    let a = row0 >= 0 && left >= 0 ? Float(src[row0 + left + k]) : background
                                    let b = row0 >= 0 && right >= 0 ? Float(src[row0 + right + k]) : background
                                    let d = row1 >= 0 && left >= 0 ? Float(src[row1 + left + k]) : background
                                    let e = row1 >= 0 && right >= 0 ? Float(src[row1 + right + k]) : background
                                    let top = a + (b - a) * wx, bottom = d + (e - d) * wx
                                    let v = top + (bottom - top) * wy
                                    dst[outRow + x * c + k] = UInt8(min(255, max(0, v)) + 0.5)
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
