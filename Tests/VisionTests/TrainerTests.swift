import Foundation
import XCTest
@testable import Tensors
@testable import TrainingService
@testable import VisionData
@testable import VisionModels

final class TrainerTests: XCTestCase {
    static let fashion = URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")

    /// Two epochs on 500 Fashion-MNIST images must beat chance (10%) by a wide margin.
    func testTwoEpochsOnAFashionMNISTSubsetBeatChance() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Self.fashion.appendingPathComponent("train-images-idx3-ubyte.gz").path),
                          "dataset-fashion-mnist is not installed (scripts/install-deps.sh installs it)")
        let sets = try IDXReader.fashionMNIST(directory: Self.fashion)
        let config = try ExperimentConfig.load(path: ConfigTests.shipped, overrides: [
            "train.epochs=2", "train.batch_size=20", "model.backbone.depth=20", "scheduler.warmup_epochs=0",
            "optimizer.lr=0.05", "train.label_smoothing=0", "data.augment.pad_crop=0", "data.augment.horizontal_flip=false",
        ])
        let trainer = try ClassificationTrainer(config: config, classes: 10)
        var events = 0
        let result = try trainer.run(train: sets.train.prefix(500), validation: sets.test.prefix(1000)) { _ in events += 1 }
        XCTAssertGreaterThan(result.metrics["top1"] ?? 0, 0.45, "top-1 \(result.metrics)")
        XCTAssertGreaterThan(events, 2)
        XCTAssertEqual(result.perClassAccuracy.count, 10)

        // The package alone rebuilds the same model.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vf-pkg-\(UUID().uuidString)")
        let manifest = ModelManifest(
            formatVersion: 1, task: "classification",
            architecture: .init(backbone: "resnet_cifar", depth: 20, inputChannels: 1, classes: 10),
            classNames: IDXReader.fashionMNISTClasses,
            preprocessing: .init(channels: 1, height: 28, width: 28, mean: config.mean, std: config.std),
            inputs: [.init(name: "images", dtype: "float32", shape: [-1, 1, 28, 28])],
            outputs: [.init(name: "logits", dtype: "float32", shape: [-1, 10])],
            metrics: result.metrics, lineage: .init(dataset: "fashion-mnist", jobId: "test", configDigest: "x"),
            config: config.resolvedYAML, files: [:])
        try ModelPackage.write(model: trainer.model, manifest: manifest, to: dir)
        let loaded = try ModelPackage.read(from: dir)
        let (readManifest, rebuilt) = (loaded.manifest, try XCTUnwrap(loaded.classifier))
        XCTAssertEqual(readManifest.classNames, IDXReader.fashionMNISTClasses)
        for ((a, x), (b, y)) in zip(trainer.model.stateDict(), rebuilt.stateDict()) {
            XCTAssertEqual(a, b)
            XCTAssertEqual(x.scalars, y.scalars, a)
        }
        // A tampered weights file is refused.
        let weights = dir.appendingPathComponent(ModelPackage.weightsFile)
        var bytes = try Data(contentsOf: weights)
        bytes[bytes.count - 1] ^= 0xFF
        try bytes.write(to: weights)
        XCTAssertThrowsError(try ModelPackage.read(from: dir)) { XCTAssertTrue("\($0)".contains("digest"), "\($0)") }
    }

    func testShapeMismatchBetweenConfigAndDataIsReported() throws {
        let config = try ExperimentConfig.load(path: ConfigTests.shipped)
        let trainer = try ClassificationTrainer(config: config, classes: 3)
        let data = ClassificationSet(pixels: [UInt8](repeating: 0, count: 4 * 8 * 8), labels: [0, 1, 2, 0], count: 4,
                                     channels: 1, height: 8, width: 8, classNames: ["a", "b", "c"])
        XCTAssertThrowsError(try trainer.run(train: data, validation: data)) { XCTAssertTrue("\($0)".contains("data.input"), "\($0)") }
    }
}

final class TrainerOptionTests: XCTestCase {
    static func data(_ n: Int = 48, seed: UInt64 = 3) -> ClassificationSet {
        var rng = RandomState(seed: seed)
        return ClassificationSet(pixels: (0..<(n * 64)).map { _ in UInt8(rng.nextInt(256)) }, labels: (0..<n).map { Int32($0 % 3) },
                                 count: n, channels: 1, height: 8, width: 8, classNames: ["a", "b", "c"])
    }

    static func config(_ train: String, epochs: Int = 3, lr: Double = 0.05) throws -> ExperimentConfig {
        try ExperimentConfig.parse(yaml: """
        configVersion: 1
        task: classification
        model: {backbone: {type: resnet_cifar, depth: 20}}
        data: {input: {channels: 1, height: 8, width: 8}, mean: [0.5], std: [0.25]}
        train: {epochs: \(epochs), batch_size: 16, seed: 5\(train)}
        optimizer: {type: sgd, lr: \(lr), momentum: 0.9}
        """)
    }

    func testEarlyStoppingEndsTheRunAfterPatienceEvaluations() throws {
        // A learning rate too small to change predictions: no evaluation improves on the first.
        let config = try Self.config(", early_stopping: {patience: 2}", epochs: 10, lr: 1e-8)
        let trainer = try ClassificationTrainer(config: config, classes: 3)
        var epochs: [Int] = [], stops: [String] = []
        _ = try trainer.run(train: Self.data(), validation: Self.data()) { event in
            if case .epoch(let e, _, _, _) = event { epochs.append(e) }
            if case .stopped(_, let reason) = event { stops.append(reason) }
        }
        XCTAssertEqual(epochs, [0, 1, 2])
        XCTAssertEqual(stops.count, 1)
        XCTAssertTrue(stops[0].contains("top1 did not improve for 2 evaluations"), stops[0])
    }

    func testFrozenLayersDoNotMoveUntilTheirEpoch() throws {
        let config = try Self.config(", freeze: [{prefix: conv1, until_epoch: 2}, {prefix: layer1.0, until_epoch: 1}]", epochs: 1)
        let trainer = try ClassificationTrainer(config: config, classes: 3)
        let before = Dictionary(uniqueKeysWithValues: trainer.model.namedParameters().map { ($0.0, $0.1.value.scalars) })
        XCTAssertEqual(trainer.frozenParameters(epoch: 1).count, 1)
        XCTAssertEqual(trainer.frozenParameters(epoch: 2), [])
        _ = try trainer.run(train: Self.data(), validation: Self.data())
        for (name, p) in trainer.model.namedParameters() {
            let frozen = name.hasPrefix("conv1") || name.hasPrefix("layer1.0")
            XCTAssertEqual(p.value.scalars == before[name], frozen, name)
        }
        XCTAssertThrowsError(try ClassificationTrainer(config: try Self.config(", freeze: [{prefix: backbone, until_epoch: 1}]"), classes: 3)) {
            XCTAssertTrue("\($0)".hasPrefix("train.freeze[0].prefix: backbone matches no parameter; names start with bn1, conv1, fc, layer1"), "\($0)")
        }
    }

    func testEMAWeightsAreTheOnesEvaluatedAndKept() throws {
        let config = try Self.config(", ema: {decay: 0.9}, best_metric: mean_class_accuracy", epochs: 2)
        let trainer = try ClassificationTrainer(config: config, classes: 3)
        let result = try trainer.run(train: Self.data(), validation: Self.data())
        // The kept weights evaluate to the reported metrics (they are the EMA weights, which
        // differ from the raw weights after training).
        let again = try trainer.evaluate(Self.data())
        XCTAssertEqual(again.top1, result.metrics["top1"])
        XCTAssertEqual(again.meanClassAccuracy, result.metrics["mean_class_accuracy"])
        XCTAssertNotNil(result.metrics["epoch"])
    }
}

final class ResumeTests: XCTestCase {
    /// Deterministic mode: a run stopped after epoch 1 and resumed from its checkpoint ends with
    /// bitwise the same weights as an uninterrupted run (EMA, early-stopping count and freezing
    /// across the resume point included).
    func testResumeGivesTheSameWeights() throws {
        let saved = Parallel.threads
        Parallel.setThreads(2)
        defer { Parallel.setThreads(saved) }
        var rng = RandomState(seed: 3)
        let n = 96
        let data = ClassificationSet(pixels: (0..<(n * 64)).map { _ in UInt8(rng.nextInt(256)) },
                                     labels: (0..<n).map { Int32($0 % 3) }, count: n, channels: 1, height: 8, width: 8,
                                     classNames: ["a", "b", "c"])
        let yaml = """
        configVersion: 1
        task: classification
        model: {backbone: {type: resnet_cifar, depth: 20}}
        data: {input: {channels: 1, height: 8, width: 8}, mean: [0.5], std: [0.25], augment: {pad_crop: 1, horizontal_flip: true}}
        train: {epochs: 3, batch_size: 16, label_smoothing: 0.1, seed: 5, ema: {decay: 0.95}, early_stopping: {patience: 5},
                freeze: [{prefix: conv1, until_epoch: 2}]}
        optimizer: {type: sgd, lr: 0.05, momentum: 0.9, weight_decay: 0.0005, nesterov: true}
        scheduler: {type: cosine, warmup_epochs: 1}
        """
        let config = try ExperimentConfig.parse(yaml: yaml)

        let straight = try ClassificationTrainer(config: config, classes: 3)
        _ = try straight.run(train: data, validation: data)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vf-ckpt-\(UUID().uuidString)")
        let first = try ClassificationTrainer(config: config, classes: 3)
        _ = try first.run(train: data, validation: data, checkpoints: dir, stopAfterEpoch: 1)
        let resumed = try ClassificationTrainer(config: config, classes: 3)
        _ = try resumed.run(train: data, validation: data, checkpoints: dir)

        XCTAssertEqual(straight.bestMetrics, resumed.bestMetrics)
        for ((name, a), (_, b)) in zip(straight.model.stateDict(), resumed.model.stateDict()) {
            XCTAssertTrue(a.scalars.elementsEqual(b.scalars) { $0.bitPattern == $1.bitPattern }, "\(name) differs after resume")
        }
    }

    /// Detection, stopped after epoch 1 of 3 and resumed: the same weights bitwise, the same best
    /// evaluation and COCO stats (made again from the best weights when they predate the resume),
    /// EMA and the no-augmentation last epoch included.
    func testDetectionResumeGivesTheSameWeights() throws {
        let saved = Parallel.threads
        Parallel.setThreads(2)
        defer { Parallel.setThreads(saved) }
        let dataset = ShapesGenerator(size: 64, objects: 1...2, scale: 0.3...0.5).dataset(count: 8, seed: 9, root: URL(fileURLWithPath: "/nonexistent"))
        let set = DetectionSet(dataset: dataset)
        let config = try DetectionTrainerTests.config(epochs: 3, train: ", ema: {decay: 0.9}")
        let straight = try DetectionTrainer(config: config, classNames: set.classNames)
        let expected = try straight.run(train: set, validation: set)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vf-det-ckpt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var checkpoints: [Int] = []
        _ = try DetectionTrainer(config: config, classNames: set.classNames)
            .run(train: set, validation: set, checkpoints: dir, stopAfterEpoch: 1) { if case .checkpoint(let e) = $0 { checkpoints.append(e) } }
        XCTAssertEqual(checkpoints, [0])
        let resumed = try DetectionTrainer(config: config, classNames: set.classNames)
        let result = try resumed.run(train: set, validation: set, checkpoints: dir)
        XCTAssertEqual(result.metrics, expected.metrics)
        XCTAssertEqual(result.stats, expected.stats)
        Self.assertBitwiseEqual(straight.model.stateDict(), resumed.model.stateDict())
    }

    /// Retrieval (ArcFace head, and supervised-contrastive on P×K batches), stopped after epoch 1
    /// and resumed: the same model and head weights bitwise and the same retrieval metrics.
    func testRetrievalResumeGivesTheSameWeights() throws {
        let saved = Parallel.threads
        Parallel.setThreads(2)
        defer { Parallel.setThreads(saved) }
        var rng = RandomState(seed: 4)
        let n = 64
        let data = ClassificationSet(pixels: (0..<(n * 784)).map { _ in UInt8(rng.nextInt(256)) }, labels: (0..<n).map { Int32($0 % 4) },
                                     count: n, channels: 1, height: 28, width: 28, classNames: ["a", "b", "c", "d"])
        for (loss, sampler) in [("arcface", ""), ("supcon", ", sampler: {type: pk, p: 4, k: 4}")] {
            let config = try RetrievalTrainerTests.config(loss: loss, batch: 16, sampler: sampler, epochs: 3)
            let straight = try RetrievalTrainer(config: config, classes: 4)
            let expected = try straight.run(train: data, gallery: data, queries: data)
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vf-ret-ckpt-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: dir) }
            _ = try RetrievalTrainer(config: config, classes: 4).run(train: data, gallery: data, queries: data, checkpoints: dir, stopAfterEpoch: 1)
            let resumed = try RetrievalTrainer(config: config, classes: 4)
            let result = try resumed.run(train: data, gallery: data, queries: data, checkpoints: dir)
            XCTAssertEqual(result.metrics, expected.metrics, loss)
            Self.assertBitwiseEqual(straight.model.stateDict(), resumed.model.stateDict())
            if let a = straight.head, let b = resumed.head { Self.assertBitwiseEqual(a.stateDict(), b.stateDict()) }
            XCTAssertEqual(straight.head == nil, loss != "arcface")
        }
    }

    static func assertBitwiseEqual(_ a: [(String, Tensor)], _ b: [(String, Tensor)], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.map(\.0), b.map(\.0), file: file, line: line)
        for ((name, x), (_, y)) in zip(a, b) {
            XCTAssertTrue(x.scalars.elementsEqual(y.scalars) { $0.bitPattern == $1.bitPattern }, "\(name) differs after resume", file: file, line: line)
        }
    }
}
