import Foundation
import Tensors
import VisionData
import Yams

/// A classification experiment, parsed from YAML under `configs/`. Every part is chosen by
/// `type:` from the registry; unknown keys and bad values fail with their key path.
public struct ExperimentConfig: Sendable, Equatable {
    public static let supportedVersion = 1

    public struct Backbone: Sendable, Equatable {
        public var type: String          // resnet_cifar | resnet | mobilenet_v2
        public var depth: Int            // resnet_cifar, resnet (0 for mobilenet_v2)
        public var stem: String = "conv7"  // resnet: conv7 | conv3
        public var width: Double = 1     // mobilenet_v2 width multiplier
        public var stemStride: Int = 2   // mobilenet_v2

        public init(type: String, depth: Int, stem: String = "conv7", width: Double = 1, stemStride: Int = 2) {
            self.type = type; self.depth = depth; self.stem = stem; self.width = width; self.stemStride = stemStride
        }
    }

    public struct Optimizer: Sendable, Equatable {
        public var type: String          // sgd | adamw
        public var lr: Float
        public var momentum: Float
        public var weightDecay: Float
        public var nesterov: Bool
    }

    public struct Scheduler: Sendable, Equatable {
        public var type: String          // cosine | step | constant
        public var warmupEpochs: Double
        public var minLR: Float
        public var milestones: [Int]     // epochs, for step
        public var gamma: Float
    }

    /// Parameters whose names start with `prefix` are not updated before `untilEpoch`.
    public struct FreezeRule: Sendable, Equatable {
        public var prefix: String
        public var untilEpoch: Int
    }

    public struct EarlyStopping: Sendable, Equatable {
        public var patience: Int         // evaluations without improvement
        public var minDelta: Double
    }

    public static let metricNames = ["mean_class_accuracy", "top1", "top5"]

    /// The retrieval task's parts: projection neck, metric-learning loss, sampler (pooling is
    /// the config's `pooling`, shared with classification).
    public struct Retrieval: Sendable, Equatable {
        public var dimension: Int
        public var loss: String              // arcface | supcon | triplet
        public var scale: Float              // arcface s
        public var margin: Float             // arcface m (radians) or triplet margin
        public var temperature: Float        // supcon τ
        /// P classes × K images per batch (required by supcon and triplet).
        public var sampler: (p: Int, k: Int)?

        public static func == (a: Retrieval, b: Retrieval) -> Bool {
            a.dimension == b.dimension && a.loss == b.loss && a.scale == b.scale
                && a.margin == b.margin && a.temperature == b.temperature && a.sampler?.p == b.sampler?.p && a.sampler?.k == b.sampler?.k
        }
    }

    /// The detection task's parts: the YOLOX size, box loss, the last epochs without mosaic and
    /// affine (where the L1 loss joins), and post-processing.
    public struct Detection: Sendable, Equatable {
        public var size: YOLOXModel.Size
        public var overlap: BoxOverlap
        public var l1: Bool
        public var noAugmentEpochs: Int
        public var postprocess: NonMaxSuppression
    }

    public var task: String
    /// Pooling of the backbone's last map: avg | max | gem (with `gemP`).
    public var pooling: String = "avg"
    public var gemP: Float = 3
    /// Loader threads building batches ahead, and how many batches ahead.
    public var loaderWorkers: Int = 1
    public var prefetch: Int = 2
    /// Set when `task` is retrieval.
    public var retrieval: Retrieval?
    /// Set when `task` is detection.
    public var detection: Detection?
    public var backbone: Backbone
    public var channels: Int, height: Int, width: Int
    public var mean: [Float], std: [Float]
    public var augmentation: Augmentation
    public var padCrop: Int { augmentation.padCrop }
    public var horizontalFlip: Bool { augmentation.horizontalFlip }
    public var epochs: Int
    public var batchSize: Int
    public var labelSmoothing: Float
    public var seed: UInt64
    public var evalEvery: Int
    public var bestMetric: String
    public var earlyStopping: EarlyStopping?
    public var emaDecay: Float?
    public var freeze: [FreezeRule]
    public var optimizer: Optimizer
    public var scheduler: Scheduler
    /// The YAML text after overrides (what a package records).
    public var resolvedYAML: String

    /// Registered backbone types.
    public static let backboneTypes = ["mobilenet_v2", "resnet", "resnet_cifar"]

    public static func load(path: String, overrides: [String] = []) throws -> ExperimentConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ConfigError("", "\(path): cannot read the config") }
        return try parse(yaml: text, overrides: overrides)
    }

    public static func parse(yaml text: String, overrides: [String] = []) throws -> ExperimentConfig {
        let loaded: Any?
        do { loaded = try Yams.load(yaml: text) } catch { throw ConfigError("", "not valid YAML: \(error)") }
        guard var root = loaded as? [String: Any] else { throw ConfigError("", "the config must be a mapping") }
        for override in overrides { try apply(override, to: &root) }
        let resolved = try Yams.dump(object: root, sortKeys: true)
        let node = ConfigNode(path: "", value: root)
        let version = try node.int("configVersion")
        guard version == supportedVersion else { throw ConfigError("configVersion", "expected \(supportedVersion), got \(version)") }
        let task = try node.oneOf("task", ["classification", "detection", "retrieval"])

        let model = try node.node("model")
        var detection: Detection?
        let backbone: Backbone
        if task == "detection" {
            detection = try parseDetection(model: model, root: node)
            backbone = Backbone(type: "csp_darknet", depth: 0, width: detection!.size.width)
        } else {
            backbone = try parseBackbone(try model.node("backbone"))
        }
        let poolingNode = task == "detection" ? ConfigNode(path: "model.pooling", value: [String: Any]()) : try model.node("pooling", required: false)
        let poolType = try poolingNode.oneOf("type", ["avg", "gem", "max"], default: "avg")
        let gemP = poolType == "gem" ? Float(try poolingNode.double("p", default: 3, range: 1...16)) : 3
        var retrieval: Retrieval?
        var lossSmoothing: Float?
        if task == "classification" {
            let head = try model.node("head", required: false)
            _ = try head.oneOf("type", ["linear"], default: "linear")
            if try node.has("loss") {
                let loss = try node.node("loss")
                _ = try loss.oneOf("type", ["cross_entropy"])
                lossSmoothing = Float(try loss.double("label_smoothing", default: 0, range: 0...0.99))
            }
        } else if task == "retrieval" {
            let neck = try model.node("neck")
            _ = try neck.oneOf("type", ["projection"])
            let dimension = try neck.int("dim", range: 2...4096)
            let loss = try node.node("loss")
            let lossType = try loss.oneOf("type", ["arcface", "supcon", "triplet"])
            var r = Retrieval(dimension: dimension, loss: lossType, scale: 30, margin: 0.5,
                              temperature: 0.1, sampler: nil)
            switch lossType {
            case "arcface":
                r.scale = Float(try loss.double("scale", default: 30, range: 1...128))
                r.margin = Float(try loss.double("margin", default: 0.5, range: 0...1.5))
            case "triplet": r.margin = Float(try loss.double("margin", default: 0.3, range: 0...2))
            default: r.temperature = Float(try loss.double("temperature", default: 0.1, range: 0.01...10))
            }
            retrieval = r
        }

        let data = try node.node("data")
        let input = try data.node("input")
        let channels = task == "detection" ? try input.oneOf("channels", [1, 3]) : try input.int("channels", range: 1...4)
        let height = try input.int("height", range: 8...1024), width = try input.int("width", range: 8...1024)
        if task == "detection", height % 32 != 0 || width % 32 != 0 {
            throw ConfigError("data.input", "YOLOX needs height and width that are multiples of 32, got \(height)×\(width)")
        }
        let mean = try data.doubles("mean", count: channels).map(Float.init)
        let std = try data.doubles("std", count: channels).map(Float.init)
        if let bad = std.firstIndex(where: { $0 <= 0 }) { throw ConfigError("data.std[\(bad)]", "must be positive") }
        let augmentation: Augmentation
        if try data.isList("augment") {
            augmentation = try parseAugmentList(try data.nodes("augment"))
        } else {
            augmentation = try parseAugmentMapping(try data.node("augment", required: false))
        }
        if augmentation.mosaic > 0, task != "detection" {
            throw ConfigError("data.augment", "mosaic is a detection augmentation (task is \(task))")
        }
        let loaderNode = try data.node("loader", required: false)
        let loaderWorkers = try loaderNode.int("workers", default: 1, range: 1...64)
        let prefetch = try loaderNode.int("prefetch", default: 2, range: 1...256)

        let train = try node.node("train")
        let epochs = try train.int("epochs", range: 1...10_000)
        let batchSize = try train.int("batch_size", range: 1...65_536)
        if lossSmoothing != nil, try train.has("label_smoothing") {
            throw ConfigError("train.label_smoothing", "set label smoothing in loss.label_smoothing or here, not both")
        }
        let smoothing = try lossSmoothing ?? Float(try train.double("label_smoothing", default: 0, range: 0...0.99))
        let seed = UInt64(try train.int("seed", default: 0, range: 0...Int.max))
        let evalEvery = try train.int("eval_every", default: 1, range: 1...10_000)
        if task == "retrieval" {
            if try train.has("sampler") {
                let sampler = try train.node("sampler")
                _ = try sampler.oneOf("type", ["pk"])
                let p = try sampler.int("p", range: 2...4096), k = try sampler.int("k", range: 2...1024)
                guard p * k == batchSize else { throw ConfigError("train.sampler", "p × k = \(p * k) must equal train.batch_size \(batchSize)") }
                retrieval?.sampler = (p, k)
            } else if retrieval?.loss != "arcface" {
                throw ConfigError("train.sampler", "missing (required): \(retrieval!.loss) needs P×K batches, e.g. {type: pk, p: 16, k: 8}")
            }
        }
        if task == "detection" {
            let noAugment = try train.int("no_augment_epochs", default: 0, range: 0...epochs)
            detection?.noAugmentEpochs = noAugment
        }
        let bestMetric = try train.oneOf("best_metric", task == "detection" ? ["ap", "ap50"] : metricNames,
                                         default: task == "detection" ? "ap" : "top1")
        var earlyStopping: EarlyStopping?
        if try train.has("early_stopping") {
            let es = try train.node("early_stopping")
            earlyStopping = EarlyStopping(patience: try es.int("patience", range: 1...10_000),
                                          minDelta: try es.double("min_delta", default: 0, range: 0...1))
        }
        var emaDecay: Float?
        if try train.has("ema") {
            emaDecay = Float(try train.node("ema").double("decay", default: 0.9998, range: 0.5...0.999999))
        }
        let freeze = try train.nodes("freeze").map { rule in
            FreezeRule(prefix: try rule.string("prefix"), untilEpoch: try rule.int("until_epoch", range: 1...10_000))
        }

        let opt = try node.node("optimizer")
        let optType = try opt.oneOf("type", ["sgd", "adamw"])
        let optimizer = Optimizer(
            type: optType, lr: Float(try opt.double("lr", range: 1e-8...10)),
            momentum: Float(try opt.double("momentum", default: optType == "sgd" ? 0.9 : 0, range: 0...0.999)),
            weightDecay: Float(try opt.double("weight_decay", default: 0, range: 0...1)),
            nesterov: try opt.bool("nesterov", default: false))

        let sch = try node.node("scheduler", required: false)
        let schType = try sch.oneOf("type", ["cosine", "step", "constant"], default: "cosine")
        let scheduler = Scheduler(
            type: schType, warmupEpochs: try sch.double("warmup_epochs", default: 0, range: 0...1000),
            minLR: Float(try sch.double("min_lr", default: 0, range: 0...10)),
            milestones: try sch.doubles("milestones", default: []).map { Int($0) },
            gamma: Float(try sch.double("gamma", default: 0.1, range: 0...1)))
        try node.finish()

        return ExperimentConfig(
            task: task, pooling: poolType, gemP: gemP, loaderWorkers: loaderWorkers, prefetch: prefetch, retrieval: retrieval,
            detection: detection, backbone: backbone, channels: channels, height: height, width: width, mean: mean, std: std,
            augmentation: augmentation, epochs: epochs, batchSize: batchSize, labelSmoothing: smoothing,
            seed: seed, evalEvery: evalEvery, bestMetric: bestMetric, earlyStopping: earlyStopping, emaDecay: emaDecay,
            freeze: freeze, optimizer: optimizer, scheduler: scheduler, resolvedYAML: resolved)
    }

    /// `model.backbone: {type: resnet_cifar|resnet|mobilenet_v2, …}`.
    static func parseBackbone(_ bb: ConfigNode) throws -> Backbone {
        let type = try bb.oneOf("type", backboneTypes)
        switch type {
        case "resnet_cifar": return Backbone(type: type, depth: try bb.oneOf("depth", [20, 32, 56]))
        case "resnet":
            return Backbone(type: type, depth: try bb.oneOf("depth", [18, 34]),
                            stem: try bb.oneOf("stem", ResNet.Stem.allCases.map(\.rawValue), default: "conv7"))
        default:
            return Backbone(type: type, depth: 0, width: try bb.double("width", default: 1, range: 0.25...2),
                            stemStride: try bb.oneOf("stem_stride", [1, 2], default: 2))
        }
    }

    /// YOLOX presets (depth and width multipliers; nano uses depthwise convolutions).
    public static let yoloxSizes: [String: YOLOXModel.Size] = ["nano": .nano, "tiny": .tiny, "s": .small]

    /// `model: {type: yolox, size, depth?, width?, depthwise?}`, `loss: {type: yolox, box, l1}`,
    /// `postprocess: {score_threshold, iou_threshold, max_detections, class_agnostic}`.
    static func parseDetection(model: ConfigNode, root: ConfigNode) throws -> Detection {
        _ = try model.oneOf("type", ["yolox"])
        var size = yoloxSizes[try model.oneOf("size", yoloxSizes.keys.sorted(), default: "nano")]!
        size.depth = try model.double("depth", default: size.depth, range: 0.1...2)
        size.width = try model.double("width", default: size.width, range: 0.0625...2)
        size.depthwise = try model.bool("depthwise", default: size.depthwise)
        let loss = try root.node("loss", required: false)
        _ = try loss.oneOf("type", ["yolox"], default: "yolox")
        let overlap = BoxOverlap(rawValue: try loss.oneOf("box", BoxOverlap.allCases.map(\.rawValue), default: "giou"))!
        let l1 = try loss.bool("l1", default: true)
        let post = try root.node("postprocess", required: false)
        let nms = NonMaxSuppression(scoreThreshold: Float(try post.double("score_threshold", default: 0.01, range: 0...1)),
                                    iouThreshold: Float(try post.double("iou_threshold", default: 0.65, range: 0.01...1)),
                                    classAgnostic: try post.bool("class_agnostic", default: false),
                                    maxDetections: try post.int("max_detections", default: 100, range: 1...10_000))
        return Detection(size: size, overlap: overlap, l1: l1, noAugmentEpochs: 0, postprocess: nms)
    }

    /// `data.augment` as a mapping of options (pad_crop: 2, horizontal_flip: true, …).
    static func parseAugmentMapping(_ augment: ConfigNode) throws -> Augmentation {
        var augmentation = Augmentation(padCrop: try augment.int("pad_crop", default: 0, range: 0...64),
                                        horizontalFlip: try augment.bool("horizontal_flip", default: false))
        if try augment.has("random_resized_crop") { augmentation.resizedCrop = try resizedCrop(try augment.node("random_resized_crop")) }
        if try augment.has("random_affine") { augmentation.affine = try affine(try augment.node("random_affine")) }
        if try augment.has("color_jitter") { augmentation.colorJitter = try colorJitter(try augment.node("color_jitter")) }
        if try augment.has("mosaic") { augmentation.mosaic = try augment.node("mosaic").double("prob", default: 1, range: 0...1) }
        return augmentation
    }

    /// Registered augmentation types for the list form of `data.augment`.
    public static let augmentationTypes = ["color_jitter", "horizontal_flip", "mosaic", "pad_crop", "random_affine", "random_resized_crop"]

    /// `data.augment` as a list of `{type: …}` entries, each type at most once.
    static func parseAugmentList(_ entries: [ConfigNode]) throws -> Augmentation {
        var augmentation = Augmentation()
        var seen = Set<String>()
        for entry in entries {
            let type = try entry.oneOf("type", augmentationTypes)
            guard seen.insert(type).inserted else { throw ConfigError("\(entry.path).type", "\(type) appears twice") }
            switch type {
            case "pad_crop": augmentation.padCrop = try entry.int("padding", range: 1...64)
            case "horizontal_flip": augmentation.horizontalFlip = true
            case "random_resized_crop": augmentation.resizedCrop = try resizedCrop(entry)
            case "random_affine": augmentation.affine = try affine(entry)
            case "mosaic": augmentation.mosaic = try entry.double("prob", default: 1, range: 0...1)
            default: augmentation.colorJitter = try colorJitter(entry)
            }
        }
        return augmentation
    }

    static func resizedCrop(_ n: ConfigNode) throws -> Augmentation.ResizedCrop {
        .init(scale: try range(n, "scale", default: 0.08...1, within: 0.01...1), ratio: try range(n, "ratio", default: 0.75...(4.0 / 3), within: 0.1...10))
    }

    static func affine(_ n: ConfigNode) throws -> Augmentation.Affine {
        .init(scale: try range(n, "scale", default: 0.9...1.1, within: 0.1...4), translate: try n.double("translate", default: 0.1, range: 0...0.5))
    }

    static func colorJitter(_ n: ConfigNode) throws -> Augmentation.ColorJitter {
        .init(brightness: try n.double("brightness", default: 0.4, range: 0...1), contrast: try n.double("contrast", default: 0.4, range: 0...1),
              saturation: try n.double("saturation", default: 0.4, range: 0...1))
    }

    /// A `[low, high]` pair inside `within`.
    static func range(_ node: ConfigNode, _ key: String, default fallback: ClosedRange<Double>,
                      within: ClosedRange<Double>) throws -> ClosedRange<Double> {
        let v = try node.doubles(key, count: 2, default: [fallback.lowerBound, fallback.upperBound])
        let path = node.path.isEmpty ? key : "\(node.path).\(key)"
        guard v[0] <= v[1] else { throw ConfigError(path, "expected [low, high] with low ≤ high, got \(v)") }
        guard within.contains(v[0]), within.contains(v[1]) else {
            throw ConfigError(path, "expected values in \(within.lowerBound)...\(within.upperBound), got \(v)")
        }
        return v[0]...v[1]
    }

    /// Applies `a.b.c=value` (value parsed as YAML) to the mapping.
    static func apply(_ override: String, to root: inout [String: Any]) throws {
        guard let eq = override.firstIndex(of: "=") else { throw ConfigError(override, "overrides look like key.path=value") }
        let path = override[..<eq].split(separator: ".").map(String.init)
        guard !path.isEmpty else { throw ConfigError(override, "empty key path") }
        let raw = String(override[override.index(after: eq)...])
        let value = (try? Yams.load(yaml: raw)).flatMap { $0 } ?? raw
        func set(_ dict: inout [String: Any], _ keys: ArraySlice<String>) throws {
            let k = keys.first!
            if keys.count == 1 { dict[k] = value; return }
            var child = dict[k] as? [String: Any] ?? [:]
            if dict[k] != nil && !(dict[k] is [String: Any]) {
                throw ConfigError(path.joined(separator: "."), "\(k) is not a mapping")
            }
            try set(&child, keys.dropFirst())
            dict[k] = child
        }
        try set(&root, path[...])
    }

    /// The learning-rate schedule in steps.
    public func schedule(stepsPerEpoch: Int) -> LearningRateSchedule {
        let total = epochs * stepsPerEpoch
        let warmup = Int(scheduler.warmupEpochs * Double(stepsPerEpoch))
        let main: LearningRateSchedule
        switch scheduler.type {
        case "step": main = .step(milestones: scheduler.milestones.map { $0 * stepsPerEpoch }, gamma: scheduler.gamma)
        case "constant": main = .constant
        default: main = .cosine(totalSteps: total, minimum: scheduler.minLR)
        }
        return warmup > 0 ? .warmup(steps: warmup, startFactor: 0.1, then: main) : main
    }
}
