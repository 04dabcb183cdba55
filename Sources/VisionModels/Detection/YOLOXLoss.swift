import Foundation
import Tensors

/// YOLOX's training loss on raw outputs (N, anchors, 5 + classes): SimOTA picks the foreground
/// anchors per image (on predictions, without gradient), then
/// 5·box loss (1 − GIoU, or 1 − IoU) over foreground + objectness BCE over all anchors +
/// class BCE against one-hot × IoU over foreground, each summed and divided by the foreground
/// count, as YOLOX does. With `l1` (YOLOX's last epochs) an L1 loss on the raw box outputs
/// against the encoded truth (x/s − gx, y/s − gy, log(w/s), log(h/s)) is added, also per
/// foreground anchor. An image without objects trains objectness towards background only.
public struct YOLOXLoss: Sendable {
    public var classes: Int
    public var strides: [Int] = [8, 16, 32]
    public var boxWeight: Float = 5
    public var overlap: BoxOverlap = .giou
    public var l1 = false
    public var assigner = SimOTAAssigner()

    public init(classes: Int) { self.classes = classes }

    public struct Output {
        public let loss: Variable
        public let foreground: Int
        public let parts: (box: Float, objectness: Float, classification: Float, l1: Float)
    }

    /// `truths[n]`: image n's objects in input pixels.
    public func callAsFunction(_ raw: Variable, truths: [[SimOTAAssigner.Truth]], height: Int, width: Int,
                               graph: Graph) throws -> Output {
        let (n, a, d) = (raw.shape[0], raw.shape[1], raw.shape[2])
        guard d == 5 + classes, truths.count == n else {
            throw TensorError.shapeMismatch(op: "YOLOXLoss", expected: "(\(truths.count), anchors, \(5 + classes))", got: raw.shape)
        }
        let centres = SimOTAAssigner.anchors(height: height, width: width, strides: strides)
        guard centres.count == a else {
            throw TensorError.shapeMismatch(op: "YOLOXLoss", expected: "\(centres.count) anchors for \(height)×\(width)", got: raw.shape)
        }
        let grid = YOLOXDecoder.grid(height: height, width: width, strides: strides).flatMap { [Float($0.x), Float($0.y), Float($0.stride)] }
        let cells = Array([[Float]](repeating: grid, count: n).joined())
        let flat = try graph.reshape(raw, [n * a, d])
        let boxes = try graph.decodeBoxes(flat, anchors: cells)

        // Assignment on current predictions.
        @inline(__always) func sigmoid(_ v: Float) -> Float { 1 / (1 + expf(-v)) }
        var fgRows: [Int] = [], boxTargets: [Float] = [], classTargets: [Float] = [], l1Targets: [Float] = []
        let objTargets = Tensor(zeros: [n * a, 1])
        for image in 0..<n where !truths[image].isEmpty {
            let base = image * a
            var predicted: [Detection] = [], objectness: [Float] = [], probabilities: [Float] = []
            predicted.reserveCapacity(a)
            for i in 0..<a {
                let b = boxes.value.pointer + (base + i) * 4, p = flat.value.pointer + (base + i) * d
                predicted.append(Detection(x1: b[0], y1: b[1], x2: b[2], y2: b[3], score: 0, classIndex: 0))
                objectness.append(sigmoid(p[4]))
                for c in 0..<classes { probabilities.append(sigmoid(p[5 + c])) }
            }
            for m in assigner.assign(anchors: centres, boxes: predicted, objectness: objectness, classProbabilities: probabilities,
                                     classes: classes, truths: truths[image]) {
                let t = truths[image][m.truth]
                fgRows.append(base + m.anchor)
                boxTargets += [t.x1, t.y1, t.x2, t.y2]
                if l1 {
                    let cell = base + m.anchor, s = cells[cell * 3 + 2]
                    l1Targets += [(t.x1 + t.x2) / 2 / s - cells[cell * 3], (t.y1 + t.y2) / 2 / s - cells[cell * 3 + 1],
                                  logf((t.x2 - t.x1) / s + 1e-8), logf((t.y2 - t.y1) / s + 1e-8)]
                }
                classTargets += (0..<classes).map { $0 == t.classIndex ? m.iou : 0 }
                objTargets[base + m.anchor] = 1
            }
        }
        let foreground = fgRows.count
        let normaliser = Float(max(foreground, 1))
        func scaled(_ v: Variable, _ k: Float) throws -> Variable {
            try graph.mul(v, Variable(Tensor(repeating: k, shape: [1])))
        }
        let objLoss = try scaled(try graph.bceWithLogits(try graph.slice(flat, axis: 1, start: 4, end: 5), targets: objTargets),
                                 Float(n * a) / normaliser)
        var total = objLoss
        var boxValue: Float = 0, classValue: Float = 0, l1Value: Float = 0
        if foreground > 0 {
            let boxTensor = try Tensor(shape: [foreground, 4], values: boxTargets)
            let boxLoss = try scaled(try graph.boxLoss(try graph.gatherRows(boxes, fgRows), targets: boxTensor, overlap: overlap),
                                     boxWeight)
            let classLogits = try graph.gatherRows(try graph.slice(flat, axis: 1, start: 5, end: d), fgRows)
            let classLoss = try scaled(try graph.bceWithLogits(classLogits, targets: try Tensor(shape: [foreground, classes], values: classTargets)),
                                       Float(classes))
            total = try graph.add(try graph.add(total, boxLoss), classLoss)
            boxValue = boxLoss.value[0]
            if l1 {
                let raw = try graph.gatherRows(try graph.slice(flat, axis: 1, start: 0, end: 4), fgRows)
                let l1Loss = try scaled(try graph.l1(raw, targets: try Tensor(shape: [foreground, 4], values: l1Targets)), 4)
                total = try graph.add(total, l1Loss)
                l1Value = l1Loss.value[0]
            }
            classValue = classLoss.value[0]
        }
        return Output(loss: total, foreground: foreground, parts: (boxValue, objLoss.value[0], classValue, l1Value))
    }
}
