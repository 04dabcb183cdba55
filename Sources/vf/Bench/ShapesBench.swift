import ArgumentParser
import Foundation
import Tensors
import TrainingService
import VisionData
import VisionModels

/// `vf bench shapes`: trains the shipped detector config on synthetic shapes images (seed 1)
/// and evaluates COCO box AP on held-out images (seed 2); reports training images/s and
/// batch-1 inference time (forward, decode and NMS) per image.
struct ShapesBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "shapes", abstract: "Detection quality and time on synthetic shapes.")

    @Option(help: "Config to train.")
    var config = "configs/detection/yolox_tiny_shapes.yaml"

    @Option(name: .customLong("set"), help: "Config override key.path=value (repeatable).")
    var overrides: [String] = []

    @Option(help: "Training images.")
    var train = 4_000

    @Option(help: "Held-out evaluation images.")
    var eval = 500

    @Option(help: "Image side in pixels.")
    var size = 128

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        BLASCore.reexecIfMisdetected()
        let clock = ContinuousClock()
        let start = clock.now
        let experiment = try ExperimentConfig.load(path: config, overrides: overrides)
        let generator = ShapesGenerator(size: size)
        let root = URL(fileURLWithPath: NSTemporaryDirectory())
        let trainSet = DetectionSet(dataset: generator.dataset(count: train, seed: 1, root: root))
        let heldOut = DetectionSet(dataset: generator.dataset(count: eval, seed: 2, root: root))
        let trainer = try DetectionTrainer(config: experiment, classNames: trainSet.classNames)
        let result = try trainer.run(train: trainSet, validation: heldOut) { event in
            if !json { ProgressLog.write(event) } else if case .step = event { ProgressLog.write(event) }
        }
        let wall = (clock.now - start).seconds
        // Batch-1 latency over the first 100 held-out images (after one warm-up).
        let probe = heldOut.subset(Array(0..<min(100, heldOut.count)))
        let plan = try trainer.model.inferencePlan(height: experiment.height, width: experiment.width)
        _ = try trainer.detect(probe.subset([0]), batchSize: 1, plan: plan)
        let inferStart = clock.now
        _ = try trainer.detect(probe, batchSize: 1, plan: plan)
        let inferMs = (clock.now - inferStart).seconds * 1000 / Double(probe.count)
        let s = result.stats
        if json {
            let object: [String: Double] = [
                "ap": s.ap, "ap50": s.ap50, "ap75": s.ap75, "wall_s": (wall * 10).rounded() / 10,
                "train_images_per_s": (result.trainImagesPerSecond * 10).rounded() / 10,
                "infer_ms_per_image": (inferMs * 100).rounded() / 100, "epoch": result.metrics["epoch"] ?? 0,
            ]
            try JSONLine.print(object)
        } else {
            print(String(format: "Shapes detection (%d train, %d held out, %d×%d): AP %.4f, AP50 %.4f, AP75 %.4f, APs %.4f, APm %.4f, APl %.4f, AR100 %.4f",
                         train, eval, size, size, s.ap, s.ap50, s.ap75, s.apSmall, s.apMedium, s.apLarge, s.ar100))
            print(String(format: "wall %.0f s (evaluation %.0f s); train %.1f images/s; inference %.2f ms/image at batch 1",
                         wall, result.evaluationSeconds, result.trainImagesPerSecond, inferMs))
        }
    }
}
