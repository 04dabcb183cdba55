import ArgumentParser
import Foundation
import Tensors
import TrainingService
import VectorIndex
import VisionData
import VisionModels

/// `vf train-local` for `task: retrieval`: trains the embedding model on the training split,
/// scores retrieval with the validation images as queries against the training images, and
/// writes the model package with the training images' embeddings as its gallery
/// (`gallery.index`: embeddings, item ids = training positions, labels = classes).
enum RetrievalRun {
    static func run(_ config: ExperimentConfig, format: String, directory: String, limit: Int?, out: URL) throws {
        let (train, validation) = try FashionData.load(format: format, directory: directory, limit: limit, config: config)
        let trainer = try RetrievalTrainer(config: config, classes: train.classNames.count)
        let result = try trainer.run(train: train, gallery: train, queries: validation) { ProgressLog.write($0) }
        let gallery = ExactIndex(dimension: trainer.model.dimension)
        try gallery.add(try trainer.embed(train), ids: (0..<train.count).map(Int64.init), labels: train.labels)
        let manifest = PackageManifests.make(config, classNames: train.classNames, metrics: result.metrics, lineage: .init(dataset: directory))
        try ModelPackage.write(.retrieval(trainer.model), manifest: manifest, gallery: gallery, to: out)
        try config.resolvedYAML.write(to: out.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)
        var metrics: [String: Any] = result.metrics
        metrics["wall_s"] = result.wallSeconds
        metrics["train_images_per_s"] = result.trainImagesPerSecond
        try JSONSerialization.data(withJSONObject: metrics, options: [.prettyPrinted, .sortedKeys])
            .write(to: out.appendingPathComponent("metrics.json"), options: .atomic)
        FileHandle.standardError.write(Data("wrote \(out.path)/manifest.json, weights.safetensors, gallery.index, config.yaml, metrics.json\n".utf8))
        print(String(format: "Recall@1 %.4f  Recall@10 %.4f  wall %.0f s  %.0f images/s", result.metrics["hit_rate@1"] ?? 0,
                     result.metrics["hit_rate@10"] ?? 0, result.wallSeconds, result.trainImagesPerSecond))
    }
}
