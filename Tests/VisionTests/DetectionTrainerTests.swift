import Foundation
import TestSupport
import XCTest
@testable import Tensors
@testable import TrainingService
@testable import VisionData
@testable import VisionEval
@testable import VisionModels

final class DetectionTrainerTests: XCTestCase {
    static func config(_ extra: String = "", epochs: Int = 2, augment: String = "[{type: mosaic, prob: 0.5}, {type: horizontal_flip}]",
                       input: String = "{channels: 3, height: 64, width: 64}", train: String = "") throws -> ExperimentConfig {
        try ExperimentConfig.parse(yaml: """
        configVersion: 1
        task: detection
        model: {type: yolox, size: nano}
        loss: {type: yolox, box: giou, l1: true}
        data: {input: \(input), mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], augment: \(augment)}
        train: {epochs: \(epochs), batch_size: 4, no_augment_epochs: 1, seed: 1\(train)}
        optimizer: {type: adamw, lr: 0.003}
        scheduler: {type: cosine, warmup_epochs: 0.2}
        postprocess: {score_threshold: 0.001, iou_threshold: 0.6}
        \(extra)
        """)
    }

    func testConfigParsesAndErrorsNameTheKey() throws {
        let c = try Self.config()
        XCTAssertEqual(c.detection?.size, .nano)
        XCTAssertEqual(c.detection?.noAugmentEpochs, 1)
        XCTAssertEqual(c.detection?.overlap, .giou)
        XCTAssertEqual(c.detection?.postprocess.iouThreshold, 0.6)
        XCTAssertEqual(c.augmentation.mosaic, 0.5)
        XCTAssertEqual(c.bestMetric, "ap")
        let shipped = try ExperimentConfig.load(path: Repo.path("configs/detection/yolox_tiny_shapes.yaml"))
        XCTAssertEqual(shipped.task, "detection")
        XCTAssertEqual(shipped.height, 128)
        let nano = try ExperimentConfig.load(path: Repo.path("configs/detection/yolox_nano_shapes.yaml"))
        XCTAssertEqual(nano.detection?.size, .nano)
        XCTAssertEqual(shipped.detection?.size, .tiny)
        func message(_ body: () throws -> Any) -> String {
            do { _ = try body(); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message { try Self.config(input: "{channels: 3, height: 100, width: 64}") },
                       "data.input: YOLOX needs height and width that are multiples of 32, got 100×64")
        XCTAssertEqual(message { try Self.config(input: "{channels: 4, height: 64, width: 64}") },
                       "data.input.channels: expected one of 1, 3, got 4")
        XCTAssertEqual(message { try Self.config(augment: "[{type: mosaic, prob: 2}]") }, "data.augment[0].prob: expected 0.0...1.0, got 2.0")
        XCTAssertEqual(message { try ExperimentConfig.load(path: Repo.path("configs/detection/yolox_tiny_shapes.yaml"), overrides: ["loss.box=diou"]) },
                       "loss.box: expected one of iou, giou, siou, got diou")
        XCTAssertTrue(message { try ExperimentConfig.load(path: Repo.path("configs/classification/resnet20_fashion_mnist.yaml"),
                                                           overrides: ["data.augment.mosaic={prob: 1}"]) }.contains("mosaic is a detection augmentation"))
        XCTAssertEqual(message { try Self.config("postprocess: {max_detections: 0}") }, "postprocess.max_detections: expected 1...10000, got 0")
    }

    /// Sixteen 64×64 shapes images, a few epochs: the last one without augmentation and with
    /// the L1 loss; evaluation runs the COCO evaluator on the detections, which sit in the
    /// images' own pixels. An image without objects trains as background.
    func testTrainsEvaluatesAndDetectsInImagePixels() throws {
        let generator = ShapesGenerator(size: 64, objects: 1...2, scale: 0.3...0.5)
        var dataset = generator.dataset(count: 16, seed: 5, root: URL(fileURLWithPath: "/nonexistent"))
        dataset.images[3].boxes = []   // background only
        let set = DetectionSet(dataset: dataset)
        let trainer = try DetectionTrainer(config: try Self.config(epochs: 4), classNames: set.classNames)
        var steps: [Double] = [], evaluations = 0
        let result = try trainer.run(train: set, validation: set) { event in
            switch event {
            case let .step(_, _, _, loss, _, _, _, parts):
                steps.append(loss)
                XCTAssertEqual(Set(parts.keys), ["box", "objectness", "classification", "l1"])
            case .epoch: evaluations += 1
            case .stopped, .checkpoint: break
            }
        }
        XCTAssertEqual(evaluations, 4)
        XCTAssertTrue(steps.allSatisfy(\.isFinite))
        XCTAssertEqual(result.metrics["epoch"].map(Int.init).map { (1...4).contains($0) }, true)
        XCTAssertEqual(result.metrics["ap"], result.stats.ap)
        let (stats, detections) = try trainer.evaluate(set)
        XCTAssertEqual(stats, result.stats, "the best weights are the ones kept")
        XCTAssertFalse(detections.isEmpty)
        for d in detections {
            XCTAssertTrue(d.bbox[0] >= 0 && d.bbox[1] >= 0 && d.bbox[0] + d.bbox[2] <= 64.001 && d.bbox[1] + d.bbox[3] <= 64.001)
            XCTAssertTrue((1...6).contains(d.categoryId))
        }
        XCTAssertThrowsError(try DetectionTrainer(config: try RetrievalTrainerTests.config(loss: "arcface"), classNames: ["a"]))
    }
}
