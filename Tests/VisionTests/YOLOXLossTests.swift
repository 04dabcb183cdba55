import XCTest
@testable import Tensors
@testable import VisionData
@testable import VisionModels

final class YOLOXLossTests: XCTestCase {
    /// YOLOX-nano overfits two synthetic shapes images: the loss falls, and the decoded
    /// detections find every object with the right class (IoU > 0.5).
    func testNanoOverfitsTwoImages() throws {
        let generator = ShapesGenerator(size: 64, objects: 1...2, scale: 0.3...0.5)
        let samples = (0..<2).map { generator.sample(seed: 7, index: $0) }
        var pixels = [Float]()
        for s in samples { pixels += ImageOps.planar(s.image).map { Float($0) / 255 - 0.5 } }
        let x = try Tensor(shape: [2, 3, 64, 64], values: pixels)
        let truths = samples.map { s in
            s.boxes.map { SimOTAAssigner.Truth(x1: Float($0.xmin), y1: Float($0.ymin), x2: Float($0.xmax), y2: Float($0.ymax), classIndex: $0.category) }
        }
        let classes = ShapesGenerator.classNames.count
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
}
