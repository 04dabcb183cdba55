import Foundation
import XCTest
@testable import Tensors
@testable import TrainingService
@testable import VisionData
@testable import VisionModels

final class RetrievalTrainerTests: XCTestCase {
    static func config(loss: String, extra: String = "", batch: Int = 40, sampler: String = "", epochs: Int = 2) throws -> ExperimentConfig {
        try ExperimentConfig.parse(yaml: """
        configVersion: 1
        task: retrieval
        model: {backbone: {type: resnet_cifar, depth: 20}, pooling: {type: avg}, neck: {type: projection, dim: 32}}
        loss: {type: \(loss)\(extra)}
        data: {input: {channels: 1, height: 28, width: 28}, mean: [0.286], std: [0.353]}
        train: {epochs: \(epochs), batch_size: \(batch), seed: 1\(sampler)}
        optimizer: {type: sgd, lr: 0.05, momentum: 0.9, weight_decay: 0.0005}
        scheduler: {type: cosine, warmup_epochs: 0.2}
        """)
    }

    func testConfigErrorsNameTheKey() {
        func message(_ body: () throws -> Any) -> String {
            do { _ = try body(); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message { try Self.config(loss: "supcon") },
                       "train.sampler: missing (required): supcon needs P×K batches, e.g. {type: pk, p: 16, k: 8}")
        XCTAssertEqual(message { try Self.config(loss: "triplet", sampler: ", sampler: {type: pk, p: 4, k: 8}") },
                       "train.sampler: p × k = 32 must equal train.batch_size 40")
        XCTAssertEqual(message { try Self.config(loss: "contrastive") },
                       "loss.type: expected one of arcface, supcon, triplet, got contrastive")
        XCTAssertEqual(message { try Self.config(loss: "arcface", extra: ", margin: 3") }, "loss.margin: expected 0.0...1.5, got 3.0")
    }

    func testClassBalancedSamplerGivesPClassesOfKImages() throws {
        var rng = RandomState(seed: 3)
        let n = 230
        let labels = (0..<n).map { _ in Int32(rng.nextInt(6)) }
        let data = ClassificationSet(pixels: [UInt8](repeating: 0, count: n * 4), labels: labels, count: n, channels: 1, height: 2, width: 2,
                                     classNames: (0..<6).map(String.init))
        let loader = try BatchLoader(data: data, batchSize: 12, shuffle: true, mean: [0], std: [1], seed: 2, sampler: .classBalanced(p: 3, k: 4))
        XCTAssertEqual(loader.batchesPerEpoch, n / 12)
        var seen = Set<Int>()
        let order = loader.order(epoch: 0)
        for b in 0..<loader.batchesPerEpoch {
            let batch = order[(b * 12)..<(b * 12 + 12)]
            var counts: [Int32: Int] = [:]
            for i in batch { counts[labels[i], default: 0] += 1; seen.insert(i) }
            XCTAssertEqual(counts.count, 3)
            XCTAssertTrue(counts.values.allSatisfy { $0 == 4 })
        }
        XCTAssertGreaterThan(seen.count, n / 2)
        XCTAssertNotEqual(loader.order(epoch: 1), order)
        XCTAssertThrowsError(try BatchLoader(data: data, batchSize: 12, shuffle: true, mean: [0], std: [1], seed: 2, sampler: .classBalanced(p: 8, k: 2)))
    }

    func testEmbeddingPlanEqualsTheGraph() throws {
        let model = EmbeddingModel(backbone: try CIFARResNet(depth: 20, inputChannels: 1, classes: 1, seed: 2), pooling: .average, dimension: 16)
        var rng = RandomState(seed: 5)
        let x = Tensor(normal: [3, 1, 28, 28], std: 1, rng: &rng)
        let viaPlan = try model.embed(x, plan: try model.inferencePlan(height: 28, width: 28))
        let viaGraph = try model.embed(x, plan: nil)
        for (a, b) in zip(viaPlan, viaGraph) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        XCTAssertNil(try EmbeddingModel(backbone: try CIFARResNet(depth: 20, inputChannels: 1, classes: 1), pooling: .gem(p: 3), dimension: 8)
            .inferencePlan(height: 28, width: 28))
        XCTAssertFalse(model.namedParameters().contains { $0.0.hasPrefix("fc") }, "the classifier is left out")
    }

    /// Eight short epochs on 400 Fashion-MNIST images: every loss trains (its value falls by
    /// more than 10%) and the embeddings stay useful (Recall@1 well above chance, queries and
    /// gallery from the trained images). Retrieval quality itself is the benchmark's job:
    /// 80 steps are too few to beat random-init features reliably.
    func testEachLossLearnsUsefulEmbeddings() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: TrainerTests.fashion.appendingPathComponent("train-images-idx3-ubyte.gz").path),
                          "dataset-fashion-mnist is not installed (scripts/install-deps.sh installs it)")
        let sets = try IDXReader.fashionMNIST(directory: TrainerTests.fashion)
        let train = sets.train.prefix(400)
        let gallery = train.prefix(300)
        let queries = ClassificationSet(pixels: Array(train.pixels[(300 * 784)...]), labels: Array(train.labels[300...]), count: 100,
                                        channels: 1, height: 28, width: 28, classNames: train.classNames)
        let configs = [
            try Self.config(loss: "arcface", extra: ", scale: 16, margin: 0.1"),
            try Self.config(loss: "supcon", extra: ", temperature: 0.2", sampler: ", sampler: {type: pk, p: 10, k: 4}"),
            try Self.config(loss: "triplet", extra: ", margin: 0.3", sampler: ", sampler: {type: pk, p: 10, k: 4}"),
        ]
        for var config in configs {
            config.epochs = 8
            let name = config.retrieval!.loss
            let trainer = try RetrievalTrainer(config: config, classes: 10)
            let untrained = try trainer.evaluate(gallery: gallery, queries: queries)["hit_rate@1"] ?? 0
            var losses: [Double] = []
            let result = try trainer.run(train: train, gallery: gallery, queries: queries) { event in
                if case .step(_, _, _, let loss, _, _, _, _) = event { losses.append(loss) }
            }
            let r1 = result.metrics["hit_rate@1"] ?? 0
            XCTAssertGreaterThan(losses.count, 1, name)
            XCTAssertLessThan(losses.last!, losses.first! * 0.9, "\(name) loss \(losses)")
            XCTAssertGreaterThan(r1, max(0.3, untrained - 0.1), "\(name): \(untrained) → \(r1)")
            XCTAssertNotNil(result.metrics["map@10"])
        }
    }
}
