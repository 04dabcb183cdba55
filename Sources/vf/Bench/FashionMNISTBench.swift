import ArgumentParser
import Foundation
import Tensors
import VisionModels

/// `vf bench fashion-mnist`: trains the shipped config on the 60,000 Fashion-MNIST training
/// images and reports top-1/top-5 on the 10,000 test images, wall time and images/s.
struct FashionMNISTBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fashion-mnist", abstract: "Classification accuracy and time.")

    @Option(help: "Config to train.")
    var config = "configs/classification/resnet20_fashion_mnist.yaml"

    @Option(help: "Fashion-MNIST directory (Debian's dataset-fashion-mnist).")
    var data = "/usr/share/datasets/fashion-mnist"

    @Option(name: .customLong("set"), help: "Config override key.path=value (repeatable).")
    var overrides: [String] = []

    @Option(help: "Write the model package and metrics.json here too.")
    var out: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        BLASCore.reexecIfMisdetected()
        let experiment = try ExperimentConfig.load(path: config, overrides: overrides)
        let (train, test) = try FashionData.load(format: "idx", directory: data, limit: nil, config: experiment)
        let outcome = try FashionData.train(experiment, train: train, validation: test, datasetName: "fashion-mnist")
        if let out { try FashionData.write(outcome, to: URL(fileURLWithPath: out)) }
        let r = outcome.result
        if json {
            let object: [String: Double] = [
                "top1": r.metrics["top1"] ?? 0, "top5": r.metrics["top5"] ?? 0,
                "wall_s": (r.wallSeconds * 10).rounded() / 10, "train_images_per_s": (r.trainImagesPerSecond * 10).rounded() / 10,
            ]
            try JSONLine.print(object)
        } else {
            print(String(format: "Fashion-MNIST test top-1 %.4f, top-5 %.4f; wall %.0f s; train %.0f images/s",
                         r.metrics["top1"] ?? 0, r.metrics["top5"] ?? 0, r.wallSeconds, r.trainImagesPerSecond))
        }
    }
}
