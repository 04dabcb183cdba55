import XCTest
@testable import Tensors
@testable import TrainingService
@testable import VisionData
@testable import VisionModels

final class RegistryAndLoaderTests: XCTestCase {
    func message(_ overrides: [String]) -> String { ConfigTests.loadError(overrides) }

    func testAugmentationsAsATypedListEqualTheMappingForm() throws {
        let list = try ExperimentConfig.load(path: ConfigTests.shipped, overrides: [
            "data.augment=[{type: pad_crop, padding: 2}, {type: horizontal_flip}, {type: random_resized_crop, scale: [0.5, 1]}, {type: color_jitter, brightness: 0.2}]",
        ])
        let mapping = try ExperimentConfig.load(path: ConfigTests.shipped, overrides: [
            "data.augment={pad_crop: 2, horizontal_flip: true, random_resized_crop: {scale: [0.5, 1]}, color_jitter: {brightness: 0.2}}",
        ])
        XCTAssertEqual(list.augmentation, mapping.augmentation)
        XCTAssertEqual(message(["data.augment=[{type: cutmix}]"]),
                       "data.augment[0].type: expected one of color_jitter, horizontal_flip, mosaic, pad_crop, random_affine, random_resized_crop, got cutmix")
        XCTAssertEqual(message(["data.augment=[{type: mosaic}]"]), "data.augment: mosaic is a detection augmentation (task is classification)")
        XCTAssertEqual(message(["data.augment=[{type: horizontal_flip}, {type: horizontal_flip}]"]), "data.augment[1].type: horizontal_flip appears twice")
        XCTAssertEqual(message(["data.augment=[{type: pad_crop}]"]), "data.augment[0].padding: missing (required)")
    }

    func testClassificationLossPoolingAndLoaderKeys() throws {
        let c = try ExperimentConfig.load(path: ConfigTests.shipped, overrides: [
            "train.label_smoothing=null", "loss={type: cross_entropy, label_smoothing: 0.2}", "model.pooling={type: gem, p: 4}",
            "data.loader={workers: 2, prefetch: 4}",
        ])
        XCTAssertEqual(c.labelSmoothing, 0.2)
        XCTAssertEqual(c.pooling, "gem")
        XCTAssertEqual(c.gemP, 4)
        XCTAssertEqual(c.loaderWorkers, 2)
        XCTAssertEqual(c.prefetch, 4)
        XCTAssertEqual(message(["loss={type: cross_entropy, label_smoothing: 0.2}"]),
                       "train.label_smoothing: set label smoothing in loss.label_smoothing or here, not both")
        XCTAssertEqual(message(["loss={type: focal}"]), "loss.type: expected one of cross_entropy, got focal")
        XCTAssertEqual(message(["model.pooling={type: median}"]), "model.pooling.type: expected one of avg, gem, max, got median")
        XCTAssertEqual(message(["data.loader={workers: 0}"]), "data.loader.workers: expected 1...64, got 0")
    }

    func testSeveralLoaderWorkersGiveTheSameBatches() throws {
        var rng = RandomState(seed: 9)
        let n = 70
        let data = ClassificationSet(pixels: (0..<(n * 3 * 8 * 8)).map { _ in UInt8(rng.nextInt(256)) }, labels: (0..<n).map { Int32($0 % 4) },
                                     count: n, channels: 3, height: 8, width: 8, classNames: ["a", "b", "c", "d"])
        func batches(_ workers: Int) throws -> [[Float]] {
            let loader = try BatchLoader(data: data, batchSize: 8, shuffle: true, augmentation: Augmentation(padCrop: 1, horizontalFlip: true,
                                         colorJitter: .init()), mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2], seed: 3, prefetch: 3, workers: workers)
            return loader.epoch(2).map { $0.images.scalars + $0.labels.map(Float.init) }
        }
        let one = try batches(1)
        XCTAssertEqual(one.count, 9)
        XCTAssertEqual(try batches(3), one)
    }

    /// GeM and max pooling train the classifier and evaluate through the eval graph.
    func testNonAveragePoolingTrainsAndEvaluatesConsistently() throws {
        let data = TrainerOptionTests.data(48)
        for pooling in ["gem", "max"] {
            var config = try TrainerOptionTests.config("", epochs: 2)
            config.pooling = pooling
            let trainer = try ClassificationTrainer(config: config, classes: 3)
            let result = try trainer.run(train: data, validation: data)
            XCTAssertEqual(try trainer.evaluate(data).top1, result.metrics["top1"], pooling)
        }
    }
}
