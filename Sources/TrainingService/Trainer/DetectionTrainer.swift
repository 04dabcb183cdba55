import Foundation
import Tensors
import VisionData
import VisionEval
import VisionModels

/// Trains a YOLOX detector: SimOTA + (G/S)IoU + objectness + class losses on mosaic / affine /
/// flip / colour batches, then the last `no_augment_epochs` on plain letterboxed images with the
/// L1 box loss added, as YOLOX does. Evaluates with the COCO evaluator (pycocotools' numbers)
/// on EMA weights when `train.ema` is set, and keeps the best weights by AP (or AP50).
public final class DetectionTrainer {
    public let config: ExperimentConfig
    public let detection: ExperimentConfig.Detection
    public let model: YOLOXModel
    public let classNames: [String]

    public struct Result: Sendable {
        /// The best evaluation: ap, ap50, ap75, aps, apm, apl, ar1, ar10, ar100, epoch.
        public let metrics: [String: Double]
        public let stats: COCOEvaluator.Stats
        /// The best evaluation's detections on the validation set (a COCO results list).
        public let detections: [COCODetection]
        public let wallSeconds: Double
        public let trainImagesPerSecond: Double
        public let evaluationSeconds: Double
    }

    public init(config: ExperimentConfig, classNames: [String]) throws {
        guard let detection = config.detection else { throw ConfigError("task", "DetectionTrainer needs task: detection") }
        guard !classNames.isEmpty else { throw ConfigError("data", "the dataset has no categories") }
        self.config = config
        self.detection = detection
        self.classNames = classNames
        model = YOLOXModel(size: detection.size, classes: classNames.count, inputChannels: config.channels, seed: config.seed)
    }

    public var decoder: YOLOXDecoder { YOLOXDecoder(strides: model.strides, classes: classNames.count, nms: detection.postprocess) }

    /// Trains on `train`, evaluating on `validation` every `eval_every` epochs and at the end.
    /// With `checkpoints`, a checkpoint is written there after every epoch, and a run that finds
    /// one continues from it exactly. `stopAfterEpoch` ends the run early (as a crash would).
    public func run(train: DetectionSet, validation: DetectionSet, checkpoints: URL? = nil, stopAfterEpoch: Int? = nil,
                    progress: (TrainerEvent) -> Void = { _ in }) throws -> Result {
        guard train.classNames == classNames, validation.classNames == classNames else {
            throw ConfigError("data", "training and validation sets must share the trainer's categories \(classNames)")
        }
        let loader = try DetectionLoader(data: train, batchSize: config.batchSize, channels: config.channels, height: config.height,
                                         width: config.width, augmentation: config.augmentation, mean: config.mean, std: config.std,
                                         shuffle: true, seed: config.seed, workers: config.loaderWorkers, prefetch: config.prefetch)
        let stepsPerEpoch = loader.batchesPerEpoch
        let schedule = config.schedule(stepsPerEpoch: stepsPerEpoch)
        let optimizer = TrainingSupport.optimizer(config, model.namedParameters())
        let ema = config.emaDecay.map { ExponentialMovingAverage(module: model, decay: $0) }
        var loss = YOLOXLoss(classes: classNames.count)
        loss.strides = model.strides
        loss.overlap = detection.overlap
        let graph = Graph()
        let clock = ContinuousClock()
        let start = clock.now
        var step = 0, trained = 0
        var trainSeconds = 0.0, evaluationSeconds = 0.0
        // The best evaluation so far; its report (stats, detections) is nil when it came from
        // before a resume, and is then made again from the best weights at the end.
        var best: (score: Double, metrics: [String: Double], report: (COCOEvaluator.Stats, [COCODetection])?, state: [String: Tensor])?
        var firstEpoch = 0
        let tensors = RunTensors(model: model.stateDict(), optimizer: optimizer, ema: ema)
        if let saved = try tensors.resume(from: checkpoints) {
            firstEpoch = saved.nextEpoch
            step = saved.step
            if !saved.best.isEmpty { best = (saved.bestScore, saved.bestMetrics, nil, Dictionary(uniqueKeysWithValues: saved.best)) }
        }
        var window = ProgressWindow(totalSteps: config.epochs * stepsPerEpoch, batchSize: config.batchSize)
        for epoch in firstEpoch..<config.epochs {
            let epochStart = clock.now
            let augment = epoch < config.epochs - detection.noAugmentEpochs
            loss.l1 = detection.l1 && !augment
            for result in loader.epoch(epoch, augment: augment) {
                let batch = try result.get()
                optimizer.learningRate = schedule.rate(base: config.optimizer.lr, step: step)
                let truths = batch.boxes.map { $0.map(SimOTAAssigner.Truth.init) }
                let out = try loss(try model(Variable(batch.images), graph), truths: truths, height: config.height, width: config.width, graph: graph)
                let value = try TrainingSupport.step(out.loss, graph: graph, optimizer: optimizer, ema: ema, step: step)
                step += 1
                trained += batch.items.count
                let parts: KeyValuePairs<String, Float> = ["box": out.parts.box, "objectness": out.parts.objectness,
                                                           "classification": out.parts.classification, "l1": out.parts.l1]
                if let event = window.record(epoch: epoch, step: step, images: batch.items.count, loss: value, learningRate: optimizer.learningRate,
                                             parts: parts) {
                    progress(event)
                }
            }
            trainSeconds += TrainingSupport.seconds(clock.now - epochStart)
            if (epoch + 1) % config.evalEvery == 0 || epoch + 1 == config.epochs {
                let evalStart = clock.now
                let (metrics, isBest) = try TrainingSupport.withAveragedWeights(model, ema) { () throws -> ([String: Double], Bool) in
                    let (stats, detections) = try evaluate(validation)
                    var metrics = Self.metrics(stats)
                    metrics["epoch"] = Double(epoch + 1)
                    let score = config.bestMetric == "ap50" ? stats.ap50 : stats.ap
                    let isBest = best.map { score > $0.score } ?? true
                    if isBest { best = (score, metrics, (stats, detections), TrainingSupport.snapshot(model)) }
                    return (metrics, isBest)
                }
                evaluationSeconds += TrainingSupport.seconds(clock.now - evalStart)
                progress(.epoch(epoch: epoch, metrics: metrics, isBest: isBest, wallSeconds: TrainingSupport.seconds(clock.now - epochStart)))
            }
            if let checkpoints {
                try tensors.checkpoint(nextEpoch: epoch + 1, step: step, bestScore: best?.score ?? -1, bestMetrics: best?.metrics ?? [:],
                                       best: best?.state ?? [:]).write(to: checkpoints)
                progress(.checkpoint(epoch: epoch))
            }
            if let stopAfterEpoch, epoch + 1 >= stopAfterEpoch, epoch + 1 < config.epochs { break }
        }
        guard let best else { throw ConfigError("train.epochs", "no evaluation ran") }
        try model.load(stateDict: best.state)
        let evalStart = clock.now
        let (stats, detections) = try best.report ?? evaluate(validation)
        evaluationSeconds += TrainingSupport.seconds(clock.now - evalStart)
        return Result(metrics: best.metrics, stats: stats, detections: detections, wallSeconds: TrainingSupport.seconds(clock.now - start),
                      trainImagesPerSecond: Double(trained) / max(trainSeconds, 1e-9), evaluationSeconds: evaluationSeconds)
    }

    public static func metrics(_ s: COCOEvaluator.Stats) -> [String: Double] {
        ["ap": s.ap, "ap50": s.ap50, "ap75": s.ap75, "aps": s.apSmall, "apm": s.apMedium, "apl": s.apLarge,
         "ar1": s.ar1, "ar10": s.ar10, "ar100": s.ar100]
    }

    /// Detections for every item of `set`, in its images' pixels (letterbox undone, clipped), by
    /// the model's fused inference plan.
    public func detect(_ set: DetectionSet, batchSize: Int = 32, plan given: InferencePlan? = nil) throws -> [[Detection]] {
        let loader = try DetectionLoader(data: set, batchSize: batchSize, channels: config.channels, height: config.height, width: config.width,
                                         mean: config.mean, std: config.std, shuffle: false, seed: 0, workers: 1, prefetch: 2)
        let decoder = decoder
        let anchors = YOLOXDecoder.grid(height: config.height, width: config.width, strides: model.strides).count
        let row = anchors * (5 + classNames.count)
        var out = [[Detection]](repeating: [], count: set.count)
        // The fused plan (oneDNN), built from the weights as they are now unless given.
        let plan = try given ?? model.inferencePlan(height: config.height, width: config.width)
        for result in loader.epoch(0, augment: false) {
            let batch = try result.get()
            let raw = try plan.run(batch.images)
            for (slot, item) in batch.items.enumerated() {
                let image = set.image(item), box = batch.letterboxes[slot]
                out[item] = decoder.decode(raw.pointer + slot * row, height: config.height, width: config.width,
                                           letterbox: (box.scale, box.padX, box.padY), imageWidth: image.width, imageHeight: image.height)
            }
        }
        return out
    }

    /// COCO box evaluation of `set` (its boxes as ground truth, area = box area).
    public func evaluate(_ set: DetectionSet) throws -> (stats: COCOEvaluator.Stats, detections: [COCODetection]) {
        let found = try detect(set)
        let categories = set.dataset.categories
        var annotations: [COCOGroundTruth.Annotation] = []
        var detections: [COCODetection] = []
        for i in 0..<set.count {
            let image = set.image(i)
            for b in set.boxes(i) {
                annotations.append(.init(id: annotations.count + 1, imageId: image.id, categoryId: categories[b.category].id,
                                         bbox: [b.xmin, b.ymin, b.width, b.height]))
            }
            for d in found[i] {
                detections.append(COCODetection(imageId: image.id, categoryId: categories[d.classIndex].id,
                                                bbox: [Double(d.x1), Double(d.y1), Double(d.x2 - d.x1), Double(d.y2 - d.y1)], score: Double(d.score)))
            }
        }
        let truth = COCOGroundTruth(imageIds: (0..<set.count).map { set.image($0).id }, categories: categories.map { ($0.id, $0.name) },
                                    annotations: annotations)
        return (COCOEvaluator(groundTruth: truth).evaluate(detections), detections)
    }
}
