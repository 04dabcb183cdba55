import ArgumentParser
import Foundation
import Tensors
import TrainingService
import VisionData
import VisionModels

/// `vf bench retrieval`: trains the shipped retrieval config on the 60,000 Fashion-MNIST
/// training images, then queries with the 10,000 test images against the training images
/// (relevant = same class) and reports Recall@k (hit rate), mAP@10 (ranx's), wall time.
struct RetrievalBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "retrieval", abstract: "Similar-image retrieval quality and time.")

    @Option(help: "Config to train.")
    var config = "configs/retrieval/resnet20_fashion_mnist_arcface.yaml"

    @Option(help: "Fashion-MNIST directory (Debian's dataset-fashion-mnist).")
    var data = "/usr/share/datasets/fashion-mnist"

    @Option(name: .customLong("set"), help: "Config override key.path=value (repeatable).")
    var overrides: [String] = []

    @Option(help: "Use only the first N training images (quick runs; the gallery stays all 60,000).")
    var limit: Int?

    @Option(help: "Use only the first N gallery and N/6 query images (quick comparisons; the reported figure uses all).")
    var evalLimit: Int?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        BLASCore.reexecIfMisdetected()
        let experiment = try ExperimentConfig.load(path: config, overrides: overrides)
        let sets = try IDXReader.fashionMNIST(directory: URL(fileURLWithPath: data))
        let trainer = try RetrievalTrainer(config: experiment, classes: sets.train.classNames.count)
        let train = limit.map { sets.train.prefix($0) } ?? sets.train
        let gallery = evalLimit.map { sets.train.prefix($0) } ?? sets.train
        let queries = evalLimit.map { sets.test.prefix(max(1, $0 / 6)) } ?? sets.test
        let result = try trainer.run(train: train, gallery: gallery, queries: queries) { event in
            if case .step = event { ProgressLog.write(event) }  // the retrieval figures are printed below
        }
        let m = result.metrics
        if json {
            let object: [String: Double] = [
                "recall_at_1": m["hit_rate@1"] ?? 0, "recall_at_10": m["hit_rate@10"] ?? 0, "map_at_10": m["map@10"] ?? 0,
                "precision_at_10": m["precision@10"] ?? 0, "wall_s": (result.wallSeconds * 10).rounded() / 10,
                "train_images_per_s": (result.trainImagesPerSecond * 10).rounded() / 10,
                "eval_s": (result.evaluationSeconds * 10).rounded() / 10,
            ]
            try JSONLine.print(object)
        } else {
            print(String(format: "Fashion-MNIST retrieval (%d queries × %d gallery): Recall@1 %.4f, Recall@10 %.4f, P@10 %.4f, mAP@10 %.5f; wall %.0f s (eval %.0f s); train %.0f images/s",
                         queries.count, gallery.count, m["hit_rate@1"] ?? 0, m["hit_rate@10"] ?? 0, m["precision@10"] ?? 0, m["map@10"] ?? 0,
                         result.wallSeconds,
                         result.evaluationSeconds, result.trainImagesPerSecond))
        }
    }
}
