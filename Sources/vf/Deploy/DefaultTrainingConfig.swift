import FleetProtos

/// The config `vf deploy` trains with when given none: the shipped recipe of the task, sized to
/// the data — the input from the images (median size, grey or colour), the number of epochs
/// and the batch from the training split's size. Classes come from the labels at training time.
struct DefaultTrainingConfig {
    enum Task: String { case classification, detection, retrieval }

    var task: Task
    var trainImages: Int
    /// Median width and height of the images, and their channels (1 or 3).
    var width: Int
    var height: Int
    var channels: Int
    /// Epochs asked for (`vf deploy --epochs`); nil = sized to the data.
    var requestedEpochs: Int?

    /// Epochs for a budget of about 30,000 image passes (a small set trains longer).
    var epochs: Int {
        if let requestedEpochs { return max(1, requestedEpochs) }
        return switch task {
        case .detection: min(60, max(8, 6_000 / max(trainImages, 1)))
        case .classification, .retrieval: min(30, max(3, 30_000 / max(trainImages, 1)))
        }
    }

    var batchSize: Int {
        let cap = task == .detection ? 16 : 128
        var b = 2
        while b * 2 <= min(cap, max(trainImages, 2)) { b *= 2 }
        return b
    }

    /// Classification and retrieval: the images' size rounded to 4, between 16 and 96
    /// (ResNet-20's CIFAR layout). Detection: the longer side rounded up to 32, 64 to 416, square.
    var input: (height: Int, width: Int) {
        switch task {
        case .detection:
            let side = min(416, max(64, (max(width, height) + 31) / 32 * 32))
            return (side, side)
        case .classification, .retrieval:
            func round(_ v: Int) -> Int { min(96, max(16, (v + 2) / 4 * 4)) }
            return (round(height), round(width))
        }
    }

    var yaml: String {
        let (h, w) = input
        let mean = Array(repeating: "0.5", count: channels).joined(separator: ", ")
        let std = Array(repeating: "0.25", count: channels).joined(separator: ", ")
        let lr = String(format: "%.4g", 0.1 * Double(batchSize) / 128)
        switch task {
        case .classification, .retrieval:
            let model = task == .classification
                ? "model:\n  backbone: {type: resnet_cifar, depth: 20}\n  head: {type: linear}\n"
                : "model:\n  backbone: {type: resnet_cifar, depth: 20}\n  pooling: {type: avg}\n  neck: {type: projection, dim: 128}\nloss: {type: arcface, scale: 16, margin: 0.1}\n"
            return """
            # vf deploy's default \(task.rawValue) config for \(trainImages) training images of \(width)×\(height)×\(channels).
            configVersion: 1
            task: \(task.rawValue)
            \(model)data:
              input: {channels: \(channels), height: \(h), width: \(w)}
              mean: [\(mean)]
              std: [\(std)]
              augment: {pad_crop: \(max(1, min(h, w) / 14)), horizontal_flip: true}
            train:
              epochs: \(epochs)
              batch_size: \(batchSize)
            \(task == .classification ? "  label_smoothing: 0.1\n" : "")  seed: 0
              eval_every: 1
            optimizer: {type: sgd, lr: \(lr), momentum: 0.9, weight_decay: 0.0005, nesterov: true}
            scheduler: {type: cosine, warmup_epochs: 0.5, min_lr: 0.0}

            """
        case .detection:
            return """
            # vf deploy's default detection config (YOLOX-nano; AdamW at 0.01 — on 900 synthetic shapes images,
            # 22 epochs, 0.004 reached AP 0.08, 0.01 0.18, 0.02 0.36, 0.04 0.55, 0.08 0.59; --set optimizer.lr=… to go higher) for \(trainImages) training images of about \(width)×\(height).
            configVersion: 1
            task: detection
            model: {type: yolox, size: nano}
            loss: {type: yolox, box: giou, l1: true}
            data:
              input: {channels: 3, height: \(h), width: \(w)}
              mean: [0.5, 0.5, 0.5]
              std: [0.25, 0.25, 0.25]
              augment:
                - {type: mosaic, prob: 0.5}
                - {type: random_affine, scale: [0.75, 1.25], translate: 0.1}
                - {type: horizontal_flip}
                - {type: color_jitter, brightness: 0.2, contrast: 0.2, saturation: 0.3}
              loader: {workers: 1, prefetch: 4}
            train:
              epochs: \(epochs)
              batch_size: \(batchSize)
              no_augment_epochs: \(epochs / 6)
              eval_every: \(max(1, epochs / 5))
              ema: {decay: 0.999}
              seed: 0
            optimizer: {type: adamw, lr: 0.01, weight_decay: 0.05}
            scheduler: {type: cosine, warmup_epochs: \(min(1, epochs / 4)), min_lr: 0.0001}
            postprocess: {score_threshold: 0.01, iou_threshold: 0.65, max_detections: 100, class_agnostic: false}

            """
        }
    }
}
