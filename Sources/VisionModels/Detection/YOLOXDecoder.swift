import Foundation

/// Turns YOLOX head outputs into boxes: for every grid cell of every stride, the box branch
/// gives (tx, ty, tw, th) with centre (tx + gx)·s, (ty + gy)·s and size exp(tw)·s, exp(th)·s;
/// objectness and class logits give score = σ(obj)·σ(cls). Boxes are mapped from the network
/// input back through the letterbox to the original image and clipped to it.
public struct YOLOXDecoder: Sendable {
    public var strides: [Int]
    public var classes: Int
    public var nms: NonMaxSuppression

    public init(strides: [Int] = [8, 16, 32], classes: Int, nms: NonMaxSuppression = .init()) {
        self.strides = strides
        self.classes = classes
        self.nms = nms
    }

    /// Anchor points (cells) for an input of height×width: per stride, row-major. The order
    /// of the model's flattened outputs, the loss and the assigner.
    public static func grid(height: Int, width: Int, strides: [Int]) -> [(x: Int, y: Int, stride: Int)] {
        var out: [(Int, Int, Int)] = []
        for s in strides {
            for y in 0..<(height / s) { for x in 0..<(width / s) { out.append((x, y, s)) } }
        }
        return out
    }

    public func grid(height: Int, width: Int) -> [(x: Int, y: Int, stride: Int)] {
        Self.grid(height: height, width: width, strides: strides)
    }

    /// Decodes one image's raw predictions, laid out (anchors, 4 + 1 + classes) in `grid`
    /// order, then suppresses. `letterbox` maps back to an original `imageWidth`×`imageHeight`.
    public func decode(_ raw: UnsafePointer<Float>, height: Int, width: Int, letterbox: (scale: Float, padX: Int, padY: Int),
                       imageWidth: Int, imageHeight: Int) -> [Detection] {
        let cells = grid(height: height, width: width)
        let stride = 5 + classes
        var candidates: [Detection] = []
        @inline(__always) func sigmoid(_ v: Float) -> Float { 1 / (1 + expf(-v)) }
        for (i, cell) in cells.enumerated() {
            let p = raw + i * stride
            let objectness = sigmoid(p[4])
            guard objectness >= nms.scoreThreshold else { continue }
            let s = Float(cell.stride)
            let cx = (p[0] + Float(cell.x)) * s, cy = (p[1] + Float(cell.y)) * s
            let w = expf(min(p[2], 10)) * s, h = expf(min(p[3], 10)) * s
            // Network input → original pixels.
            let x1 = ((cx - w / 2) - Float(letterbox.padX)) / letterbox.scale
            let y1 = ((cy - h / 2) - Float(letterbox.padY)) / letterbox.scale
            let x2 = ((cx + w / 2) - Float(letterbox.padX)) / letterbox.scale
            let y2 = ((cy + h / 2) - Float(letterbox.padY)) / letterbox.scale
            let box = (min(max(x1, 0), Float(imageWidth)), min(max(y1, 0), Float(imageHeight)),
                       min(max(x2, 0), Float(imageWidth)), min(max(y2, 0), Float(imageHeight)))
            if nms.classAgnostic {
                var best = 0
                for c in 1..<max(classes, 1) where p[5 + c] > p[5 + best] { best = c }
                candidates.append(Detection(x1: box.0, y1: box.1, x2: box.2, y2: box.3, score: objectness * sigmoid(p[5 + best]), classIndex: best))
            } else {
                for c in 0..<classes {
                    let score = objectness * sigmoid(p[5 + c])
                    if score >= nms.scoreThreshold {
                        candidates.append(Detection(x1: box.0, y1: box.1, x2: box.2, y2: box.3, score: score, classIndex: c))
                    }
                }
            }
        }
        return nms.apply(candidates)
    }
}
