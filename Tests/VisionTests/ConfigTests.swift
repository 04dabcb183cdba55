import XCTest
@testable import VisionModels

final class ConfigTests: XCTestCase {
    static let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("configs/classification/resnet20_fashion_mnist.yaml").path

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
        func message(_ overrides: [String]) -> String {
            do { _ = try ExperimentConfig.load(path: Self.shipped, overrides: overrides); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message(["model.backbone.depth=21"]), "model.backbone.depth: expected one of 20, 32, 56, got 21")
        XCTAssertEqual(message(["train.epocs=3"]), "train.epocs: unknown key")
        XCTAssertEqual(message(["model.backbone.type=vgg"]), "model.backbone.type: expected one of resnet_cifar, got vgg")
        XCTAssertEqual(message(["optimizer.lr=fast"]), "optimizer.lr: expected a number, got fast")
        XCTAssertEqual(message(["train.batch_size=0"]), "train.batch_size: expected 1...65536, got 0")
        XCTAssertEqual(message(["data.std=[0]"]), "data.std[0]: must be positive")
        XCTAssertEqual(message(["configVersion=2"]), "configVersion: expected 1, got 2")
        XCTAssertThrowsError(try ExperimentConfig.parse(yaml: "a: [unclosed"))
    }
}
