import Foundation
import Tensors

/// The synthetic shapes detection dataset: deterministic by seed, `count` RGB images of
/// size×size with 1–8 objects each (circle, square, triangle, star, hexagon, cross) of varied
/// colour, scale, aspect and rotation on textured backgrounds; objects may overlap partly.
/// Boxes are the tight extent of each object's visible pixels; an object less than
/// `minVisible` visible after later ones are drawn over it is not annotated (nor kept).
public struct ShapesGenerator: Sendable {
    public static let classNames = ["circle", "square", "triangle", "star", "hexagon", "cross"]

    public var size: Int
    public var objects: ClosedRange<Int>
    public var scale: ClosedRange<Double>      // object extent as a fraction of the image side
    public var minVisible: Double

    public init(size: Int = 128, objects: ClosedRange<Int> = 1...8, scale: ClosedRange<Double> = 0.12...0.4, minVisible: Double = 0.6) {
        precondition(size >= 16, "images of at least 16 px")
        self.size = size
        self.objects = objects
        self.scale = scale
        self.minVisible = minVisible
    }

    /// Image `index` of the dataset with `seed`: the same pair always gives the same image.
    public func sample(seed: UInt64, index: Int) -> (image: PixelImage, boxes: [LabeledBox]) {
        var rng = RandomState(seed: seed &* 0x9E3779B97F4A7C15 &+ UInt64(index) &* 0xBF58476D1CE4E5B9 &+ 1)
        let backdrop = background(&rng)
        var placed: [(category: Int, shape: Shape, colour: [Double])] = []
        let n = objects.lowerBound + rng.nextInt(objects.count)
        var attempts = 0
        while placed.count < n && attempts < n * 6 {
            attempts += 1
            let category = rng.nextInt(Self.classNames.count)
            let extent = uniform(scale, &rng) * Double(size)
            let aspect = category == 0 || category == 4 || category == 3 ? uniform(0.75...1.33, &rng) : uniform(0.6...1.6, &rng)
            let shape = Shape(kind: category, cx: uniform(0...Double(size), &rng), cy: uniform(0...Double(size), &rng),
                              rx: extent / 2 * aspect.squareRoot(), ry: extent / 2 / aspect.squareRoot(),
                              angle: uniform(0...(2 * .pi), &rng))
            // Keep objects mostly inside and only partly overlapping earlier ones.
            let b = shape.bounds
            let inside = (min(b.x1, Double(size)) - max(b.x0, 0)) * (min(b.y1, Double(size)) - max(b.y0, 0))
            guard inside > 0.7 * (b.x1 - b.x0) * (b.y1 - b.y0) else { continue }
            guard placed.allSatisfy({ overlap($0.shape.bounds, b) < 0.35 }) else { continue }
            placed.append((category, shape, distinctColour(from: backdrop, shape: shape, &rng)))
        }
        // Render; objects hidden too much by later ones are removed and the image drawn again,
        // so every visible object is annotated.
        while true {
            var image = backdrop
            var owner = [Int16](repeating: -1, count: size * size)
            for (i, object) in placed.enumerated() {
                paint(object.shape, colour: object.colour, id: Int16(i), into: &image, owner: &owner)
            }
            var extents = [(x0: Int, y0: Int, x1: Int, y1: Int, pixels: Int)](repeating: (Int.max, Int.max, -1, -1, 0), count: placed.count)
            for y in 0..<size {
                for x in 0..<size {
                    let o = Int(owner[y * size + x])
                    guard o >= 0 else { continue }
                    extents[o].x0 = min(extents[o].x0, x); extents[o].y0 = min(extents[o].y0, y)
                    extents[o].x1 = max(extents[o].x1, x + 1); extents[o].y1 = max(extents[o].y1, y + 1)
                    extents[o].pixels += 1
                }
            }
            let visible = placed.indices.filter { i in
                let e = extents[i]
                return e.pixels > 0 && Double(e.pixels) >= minVisible * placed[i].shape.area && e.x1 - e.x0 >= 3 && e.y1 - e.y0 >= 3
            }
            if visible.count < placed.count {
                placed = visible.map { placed[$0] }
                continue
            }
            let boxes = placed.indices.map { i in
                LabeledBox(xmin: Double(extents[i].x0), ymin: Double(extents[i].y0), xmax: Double(extents[i].x1),
                           ymax: Double(extents[i].y1), category: placed[i].category)
            }
            return (image, boxes)
        }
    }

    /// A whole dataset in memory (pixels embedded), ready for any writer.
    public func dataset(count: Int, seed: UInt64, root: URL, split: String? = nil) -> LabeledDataset {
        var images: [DatasetImage] = []
        images.reserveCapacity(count)
        for i in 0..<count {
            let (pixels, boxes) = sample(seed: seed, index: i)
            // COCO category ids start at 1.
            let shifted = boxes.map { LabeledBox(xmin: $0.xmin, ymin: $0.ymin, xmax: $0.xmax, ymax: $0.ymax, category: $0.category + 1) }
            images.append(DatasetImage(id: i + 1, file: String(format: "shapes_%06d.png", i), width: size, height: size,
                                       digest: SHA256Digest.of(Data(pixels.pixels)), boxes: shifted, split: split, embedded: pixels))
        }
        return LabeledDataset(root: root, categories: Self.classNames.enumerated().map { DatasetCategory(id: $0.offset + 1, name: $0.element) },
                              images: images)
    }

    // MARK: drawing

    struct Shape {
        let kind: Int
        let cx: Double, cy: Double, rx: Double, ry: Double, angle: Double

        var bounds: (x0: Double, y0: Double, x1: Double, y1: Double) {
            let r = max(rx, ry)
            return (cx - r, cy - r, cx + r, cy + r)
        }

        /// Approximate area in pixels (for the visibility rule).
        var area: Double {
            let ellipse = Double.pi * rx * ry
            switch kind {
            case 0: return ellipse
            case 1: return 2 * rx * ry            // square inscribed in the ellipse frame
            case 2: return 1.299 * rx * ry        // equilateral triangle
            case 3: return 1.3225 * rx * ry       // five-point star, inner radius 0.45: 5·0.45·sin 36°
            case 4: return 2.598 * rx * ry        // hexagon
            default: return 1.1664 * rx * ry      // cross: two 0.36 × 1.8 bars less their overlap
            }
        }

        /// Whether the image point (x, y) is inside.
        func contains(_ x: Double, _ y: Double) -> Bool {
            let c = cos(angle), s = sin(angle)
            let dx = x - cx, dy = y - cy
            let u = (c * dx + s * dy) / rx, v = (-s * dx + c * dy) / ry  // unit frame
            switch kind {
            case 0: return u * u + v * v <= 1
            case 1: return abs(u) <= 0.7071 && abs(v) <= 0.7071
            case 2: return Self.inPolygon(u, v, Self.regular(3, radius: 1))
            case 3: return Self.inPolygon(u, v, Self.star)
            case 4: return Self.inPolygon(u, v, Self.regular(6, radius: 1))
            default: return (abs(u) <= 0.18 && abs(v) <= 0.9) || (abs(v) <= 0.18 && abs(u) <= 0.9)
            }
        }

        static func regular(_ n: Int, radius: Double) -> [(Double, Double)] {
            (0..<n).map { k in let a = 2 * Double.pi * Double(k) / Double(n) - .pi / 2; return (radius * cos(a), radius * sin(a)) }
        }

        static let star: [(Double, Double)] = (0..<10).map { k in
            let a = Double.pi * Double(k) / 5 - .pi / 2, r = k % 2 == 0 ? 1.0 : 0.45
            return (r * cos(a), r * sin(a))
        }

        static func inPolygon(_ x: Double, _ y: Double, _ p: [(Double, Double)]) -> Bool {
            var inside = false
            var j = p.count - 1
            for i in 0..<p.count {
                if (p[i].1 > y) != (p[j].1 > y), x < (p[j].0 - p[i].0) * (y - p[i].1) / (p[j].1 - p[i].1) + p[i].0 { inside.toggle() }
                j = i
            }
            return inside
        }
    }

    /// Gradient + noise + faint stripes or checks.
    func background(_ rng: inout RandomState) -> PixelImage {
        var image = PixelImage(width: size, height: size, channels: 3)
        let base = (0..<3).map { _ in 60 + Double(rng.nextInt(140)) }
        let tilt = (0..<3).map { _ in uniform(-50...50, &rng) }
        let pattern = rng.nextInt(3), period = 6 + Double(rng.nextInt(14)), strength = uniform(5...20, &rng)
        let direction = uniform(0...(.pi), &rng)
        for y in 0..<size {
            for x in 0..<size {
                let fx = Double(x) / Double(size), fy = Double(y) / Double(size)
                var texture = 0.0
                switch pattern {
                case 0: texture = strength * sin((Double(x) * cos(direction) + Double(y) * sin(direction)) / period * 2 * .pi)
                case 1: texture = ((Int(Double(x) / period) + Int(Double(y) / period)) % 2 == 0 ? strength : -strength) * 0.6
                default: texture = 0
                }
                for c in 0..<3 {
                    let noise = Double(rng.nextInt(17)) - 8
                    image[x, y, c] = UInt8(max(0, min(255, base[c] + tilt[c] * (fx + fy - 1) + texture + noise)))
                }
            }
        }
        return image
    }

    /// A colour that differs clearly from the background under the shape's centre.
    func distinctColour(from image: PixelImage, shape: Shape, _ rng: inout RandomState) -> [Double] {
        let x = min(size - 1, max(0, Int(shape.cx))), y = min(size - 1, max(0, Int(shape.cy)))
        let under = (0..<3).map { Double(image[x, y, $0]) }
        for _ in 0..<8 {
            let colour = (0..<3).map { _ in Double(rng.nextInt(256)) }
            let distance = zip(colour, under).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
            if distance > 120 { return colour }
        }
        return under.map { $0 > 127 ? 20 : 235 }
    }

    /// Fills the shape with 2×2 supersampled coverage; pixels mostly covered become its own.
    func paint(_ shape: Shape, colour: [Double], id: Int16, into image: inout PixelImage, owner: inout [Int16]) {
        let b = shape.bounds
        let x0 = max(0, Int(b.x0.rounded(.down))), x1 = min(size - 1, Int(b.x1.rounded(.up)))
        let y0 = max(0, Int(b.y0.rounded(.down))), y1 = min(size - 1, Int(b.y1.rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        let shade = 0.85 + 0.15 * cos(shape.angle)
        for y in y0...y1 {
            for x in x0...x1 {
                var hits = 0
                for (ox, oy) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] where shape.contains(Double(x) + ox, Double(y) + oy) {
                    hits += 1
                }
                guard hits > 0 else { continue }
                let a = Double(hits) / 4
                for c in 0..<3 {
                    let v = Double(image[x, y, c]) * (1 - a) + colour[c] * shade * a
                    image[x, y, c] = UInt8(max(0, min(255, v.rounded())))
                }
                if hits >= 2 { owner[y * size + x] = id }
            }
        }
    }

    func overlap(_ a: (x0: Double, y0: Double, x1: Double, y1: Double), _ b: (x0: Double, y0: Double, x1: Double, y1: Double)) -> Double {
        let w = min(a.x1, b.x1) - max(a.x0, b.x0), h = min(a.y1, b.y1) - max(a.y0, b.y0)
        guard w > 0, h > 0 else { return 0 }
        let smaller = min((a.x1 - a.x0) * (a.y1 - a.y0), (b.x1 - b.x0) * (b.y1 - b.y0))
        return w * h / smaller
    }
}
