import ArgumentParser
import Foundation
import Tensors
import TrainingService
import VisionData
import VisionEval
import VisionModels

/// `vf train-local` for `task: detection`: reads a COCO / YOLO / VOC / Label Studio dataset
/// (problems printed and left out), trains YOLOX on its training split, evaluates on its
/// validation split, and writes the model package (manifest + weights), the resolved config,
/// metrics.json and the validation detections as a COCO results file.
enum DetectionRun {
    static func run(_ config: ExperimentConfig, format: String, directory: String, limit: Int?, out: URL) throws {
        guard let kind = DatasetFormat(rawValue: format), [.coco, .yolo, .voc, .labelstudio].contains(kind) else {
            throw ValidationError("--format \(format): detection reads coco, yolo, voc or labelstudio")
        }
        let (dataset, train, validation) = try FashionData.readSplit(kind, directory: directory, limit: limit)
        func set(_ images: [DatasetImage]) -> DetectionSet {
            DetectionSet(dataset: LabeledDataset(root: dataset.root, categories: dataset.categories, images: images))
        }
        let trainSet = set(train), validationSet = set(validation)
        let trainer = try DetectionTrainer(config: config, classNames: trainSet.classNames)
        let result = try trainer.run(train: trainSet, validation: validationSet) { ProgressLog.write($0) }

        let manifest = PackageManifests.make(config, classNames: trainSet.classNames, metrics: result.metrics,
                                             lineage: .init(dataset: directory))
        try ModelPackage.write(.detection(trainer.model), manifest: manifest, to: out)
        try config.resolvedYAML.write(to: out.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)
        var metrics: [String: Any] = result.metrics
        metrics["wall_s"] = result.wallSeconds
        metrics["train_images_per_s"] = result.trainImagesPerSecond
        metrics["per_class_ap"] = Dictionary(uniqueKeysWithValues: result.stats.perCategoryAP.map { id, ap in
            (dataset.categoryName(id) ?? "\(id)", ap)
        })
        try JSONSerialization.data(withJSONObject: metrics, options: [.prettyPrinted, .sortedKeys])
            .write(to: out.appendingPathComponent("metrics.json"), options: .atomic)
        let results: [[String: Any]] = result.detections.map {
            ["image_id": $0.imageId, "category_id": $0.categoryId, "bbox": $0.bbox, "score": $0.score]
        }
        try JSONSerialization.data(withJSONObject: results).write(to: out.appendingPathComponent("val_detections.json"), options: .atomic)
        FileHandle.standardError.write(Data("wrote \(out.path)/manifest.json, weights.safetensors, config.yaml, metrics.json, val_detections.json\n".utf8))
        print(String(format: "AP %.4f  AP50 %.4f  AP75 %.4f  wall %.0f s  %.0f images/s", result.stats.ap, result.stats.ap50,
                     result.stats.ap75, result.wallSeconds, result.trainImagesPerSecond))
    }
}
