import XCTest
@testable import VisionModels

final class ConfigTests: XCTestCase {
    static let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("configs/classification/resnet20_fashion_mnist.yaml").path

    /// The error loading the shipped config with `overrides` gives, or "no error".
    static func loadError(_ overrides: [String]) -> String {
        do { _ = try ExperimentConfig.load(path: shipped, overrides: overrides); return "no error" } catch { return "\(error)" }
    }

    func testShippedConfigParses() throws {
        let c = try ExperimentConfig.load(path: Self.shipped)
        XCTAssertEqual(c.backbone, .init(type: "resnet_cifar", depth: 20))
        XCTAssertEqual(c.channels, 1)
        XCTAssertEqual(c.batchSize, 128)
        XCTAssertEqual(c.optimizer.type, "sgd")
        XCTAssertTrue(c.optimizer.nesterov)
    }

    func testOverrides() throws {
        let c = try ExperimentConfig.load(path: Self.shipped, overrides: ["optimizer.lr=0.05", "train.epochs=3", "data.augment.horizontal_flip=false"])
        XCTAssertEqual(c.optimizer.lr, 0.05)
        XCTAssertEqual(c.epochs, 3)
        XCTAssertFalse(c.horizontalFlip)
        // The resolved YAML records the overrides: parsing it gives the same config.
        XCTAssertEqual(try ExperimentConfig.parse(yaml: c.resolvedYAML), c)
        XCTAssertThrowsError(try ExperimentConfig.load(path: Self.shipped, overrides: ["optimizer.lr"]))
    }

    func testErrorsNameTheKeyPath() throws {
        let message = Self.loadError
        XCTAssertEqual(message(["model.backbone.depth=21"]), "model.backbone.depth: expected one of 20, 32, 56, got 21")
        XCTAssertEqual(message(["train.epocs=3"]), "train.epocs: unknown key")
        XCTAssertEqual(message(["model.backbone.type=vgg"]), "model.backbone.type: expected one of mobilenet_v2, resnet, resnet_cifar, got vgg")
        XCTAssertEqual(message(["optimizer.lr=fast"]), "optimizer.lr: expected a number, got fast")
        XCTAssertEqual(message(["train.batch_size=0"]), "train.batch_size: expected 1...65536, got 0")
        XCTAssertEqual(message(["data.std=[0]"]), "data.std[0]: must be positive")
        XCTAssertEqual(message(["configVersion=2"]), "configVersion: expected 1, got 2")
        XCTAssertThrowsError(try ExperimentConfig.parse(yaml: "a: [unclosed"))
        XCTAssertEqual(message(["train.best_metric=loss"]), "train.best_metric: expected one of mean_class_accuracy, top1, top5, got loss")
        XCTAssertEqual(message(["train.early_stopping={patience: 0}"]), "train.early_stopping.patience: expected 1...10000, got 0")
        XCTAssertEqual(message(["train.ema={decay: 2}"]), "train.ema.decay: expected 0.5...0.999999, got 2.0")
        XCTAssertEqual(message(["train.freeze=[{prefix: conv1}]"]), "train.freeze[0].until_epoch: missing (required)")
        XCTAssertEqual(message(["train.freeze=[{prefix: conv1, until_epoch: 2, when: now}]"]), "train.freeze[0].when: unknown key")
        XCTAssertEqual(message(["model.backbone={type: resnet, depth: 50}"]), "model.backbone.depth: expected one of 18, 34, got 50")
        XCTAssertEqual(message(["model.backbone={type: resnet, depth: 18, stem: conv5}"]), "model.backbone.stem: expected one of conv7, conv3, got conv5")
        XCTAssertEqual(message(["model.backbone={type: mobilenet_v2, width: 4}"]), "model.backbone.width: expected 0.25...2.0, got 4.0")
        XCTAssertEqual(message(["model.backbone={type: mobilenet_v2, depth: 20}"]), "model.backbone.depth: unknown key")
    }

    func testTrainerOptionsAndBackbonesParse() throws {
        let c = try ExperimentConfig.load(path: Self.shipped, overrides: [
            "train.best_metric=mean_class_accuracy", "train.early_stopping={patience: 3, min_delta: 0.001}", "train.ema={decay: 0.999}",
            "train.freeze=[{prefix: conv1, until_epoch: 2}, {prefix: layer1, until_epoch: 1}]",
            "model.backbone={type: mobilenet_v2, width: 0.5, stem_stride: 1}",
        ])
        XCTAssertEqual(c.bestMetric, "mean_class_accuracy")
        XCTAssertEqual(c.earlyStopping, .init(patience: 3, minDelta: 0.001))
        XCTAssertEqual(c.emaDecay, 0.999)
        XCTAssertEqual(c.freeze, [.init(prefix: "conv1", untilEpoch: 2), .init(prefix: "layer1", untilEpoch: 1)])
        XCTAssertEqual(c.backbone, .init(type: "mobilenet_v2", depth: 0, width: 0.5, stemStride: 1))
        XCTAssertEqual(try ExperimentConfig.parse(yaml: c.resolvedYAML), c)
    }
}
