/// One detected object in absolute pixels (x1, y1, x2, y2) of the image it was found in.
public struct Detection: Sendable, Equatable {
    public var x1: Float, y1: Float, x2: Float, y2: Float
    public var score: Float
    public var classIndex: Int

    public init(x1: Float, y1: Float, x2: Float, y2: Float, score: Float, classIndex: Int) {
        self.x1 = x1; self.y1 = y1; self.x2 = x2; self.y2 = y2; self.score = score; self.classIndex = classIndex
    }

    public var area: Float { max(0, x2 - x1) * max(0, y2 - y1) }

    public func iou(_ o: Detection) -> Float {
        let w = min(x2, o.x2) - max(x1, o.x1), h = min(y2, o.y2) - max(y1, o.y1)
        guard w > 0, h > 0 else { return 0 }
        let inter = w * h
        return inter / (area + o.area - inter)
    }
}
