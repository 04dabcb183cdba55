import XCTest
@testable import Tensors
@testable import VisionData
@testable import VisionModels

final class YOLOXLossTests: XCTestCase {
    var rngState = RandomState(seed: 11)

    /// YOLOX-nano overfits two synthetic shapes images: the loss falls, and the decoded
    /// detections find every object with the right class (IoU > 0.5).
    func testNanoOverfitsTwoImages() throws {
        let batch = try ShapesBatch(count: 2, size: 64, seed: 7)
        let (samples, x, truths, classes) = (batch.samples, batch.images, batch.truths, ShapesBatch.classes)
        let model = YOLOXModel(size: .nano, classes: classes, seed: 1)
        let lossFunction = YOLOXLoss(classes: classes)
        let optimizer = AdamW(parameters: model.parameters, learningRate: 3e-3, weightDecay: 0)
        let graph = Graph()
        var losses: [Float] = []
        for _ in 0..<80 {
            let out = try lossFunction(try model(Variable(x), graph), truths: truths, height: 64, width: 64, graph: graph)
            XCTAssertGreaterThan(out.foreground, 0)
            losses.append(out.loss.value[0])
            optimizer.zeroGrad()
            graph.backward(out.loss)
            optimizer.step()
            graph.reset()
        }
        XCTAssertLessThan(losses.suffix(5).reduce(0, +) / 5, losses[0] * 0.4, "\(losses.first!) → \(losses.suffix(5))")

        // Batch statistics (training-mode batch norm): running statistics need more steps.
        let raw = try model(Variable(x), Graph(recording: false, training: true)).value
        let decoder = YOLOXDecoder(classes: classes, nms: .init(scoreThreshold: 0.3, iouThreshold: 0.5))
        for (i, s) in samples.enumerated() {
            let found = decoder.decode(raw.pointer + i * 84 * (5 + classes), height: 64, width: 64, letterbox: (1, 0, 0),
                                       imageWidth: 64, imageHeight: 64)
            for b in s.boxes {
                let truth = Detection(x1: Float(b.xmin), y1: Float(b.ymin), x2: Float(b.xmax), y2: Float(b.ymax), score: 1, classIndex: b.category)
                XCTAssertTrue(found.contains { $0.classIndex == b.category && $0.iou(truth) > 0.5 }, "image \(i) missed \(b); found \(found.prefix(5))")
            }
        }
    }

    func testImageWithoutObjectsTrainsBackgroundOnly() throws {
        let model = YOLOXModel(size: .nano, classes: 2, seed: 2)
        let graph = Graph()
        let out = try YOLOXLoss(classes: 2)(try model(Variable(Tensor(zeros: [1, 3, 64, 64])), graph), truths: [[]], height: 64, width: 64, graph: graph)
        XCTAssertEqual(out.foreground, 0)
        XCTAssertTrue(out.loss.value[0].isFinite)
        XCTAssertEqual(out.parts.box, 0)
        graph.backward(out.loss)
        XCTAssertThrowsError(try YOLOXLoss(classes: 3)(try model(Variable(Tensor(zeros: [1, 3, 64, 64])), Graph()), truths: [[]], height: 64, width: 64, graph: Graph()))
    }

    /// The L1 term (YOLOX's last epochs) and the SIoU box loss: both finite with gradients, the
    /// L1 term zero when the raw box outputs equal the encoded truth.
    func testL1TermAndSIoU() throws {
        let model = YOLOXModel(size: .nano, classes: 2, seed: 3)
        let x = Variable(Tensor(uniform: [1, 3, 64, 64], low: -1, high: 1, rng: &rngState))
        let truth = [[SimOTAAssigner.Truth(x1: 10, y1: 12, x2: 40, y2: 44, classIndex: 1)]]
        for overlap in BoxOverlap.allCases {
            var loss = YOLOXLoss(classes: 2)
            loss.overlap = overlap
            loss.l1 = true
            let graph = Graph()
            let out = try loss(try model(x, graph), truths: truth, height: 64, width: 64, graph: graph)
            XCTAssertGreaterThan(out.foreground, 0)
            XCTAssertTrue(out.loss.value[0].isFinite && out.parts.l1 > 0 && out.parts.box > 0, "\(overlap): \(out.parts)")
            graph.backward(out.loss)
            XCTAssertTrue(model.parameters.allSatisfy { $0.grad?.scalars.allSatisfy(\.isFinite) ?? true })
        }
        // Raw outputs that encode the truth exactly at every anchor give an L1 term of zero.
        let cells = YOLOXDecoder.grid(height: 64, width: 64, strides: [8, 16, 32])
        var raw = [Float]()
        for c in cells {
            let s = Float(c.stride)
            raw += [25 / s - Float(c.x), 28 / s - Float(c.y), logf(30 / s), logf(32 / s), 0, 0, 0]
        }
        var loss = YOLOXLoss(classes: 2)
        loss.l1 = true
        let out = try loss(Variable(try Tensor(shape: [1, cells.count, 7], values: raw)), truths: truth, height: 64, width: 64, graph: Graph())
        XCTAssertGreaterThan(out.foreground, 0)
        XCTAssertEqual(out.parts.l1, 0, accuracy: 1e-5)
        XCTAssertEqual(out.parts.box, 0, accuracy: 1e-4)
    }
}
