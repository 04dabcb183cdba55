import Foundation
import Tensors

/// One detection batch: images (N, C, H, W) normalised, each image's boxes in input pixels
/// (`category` = class index), and where each source image sits in the input (for mapping
/// predictions back).
public struct DetectionBatch: @unchecked Sendable {
    public let images: Tensor
    public let boxes: [[LabeledBox]]
    /// Positions in the loader's set.
    public let items: [Int]
    /// The letterbox of each item (identity scale when the item was augmented).
    public let letterboxes: [ImageOps.Letterbox]
}

/// Builds detection batches on worker threads: each image is decoded (or taken from memory),
/// then either letterboxed to the input size or, when augmenting, drawn into a mosaic with three
/// other random images (probability `augmentation.mosaic`) and placed by a random affine map,
/// flipped and colour-jittered; boxes follow every step exactly and are clipped, dropping those
/// left under a quarter visible. Everything about a batch is a pure function of (seed, epoch,
/// batch index), whatever the worker count.
public final class DetectionLoader: @unchecked Sendable {
    public let data: DetectionSet
    public let batchSize: Int
    public let channels: Int, height: Int, width: Int
    public let augmentation: Augmentation
    public let seed: UInt64
    public let workers: Int, prefetch: Int
    public let shuffle: Bool
    private let mean: [Float], std: [Float]
    public static let fill: UInt8 = 114

    public init(data: DetectionSet, batchSize: Int, channels: Int, height: Int, width: Int, augmentation: Augmentation = .none,
                mean: [Float], std: [Float], shuffle: Bool, seed: UInt64, workers: Int = 1, prefetch: Int = 2) throws {
        guard data.count > 0 else { throw DatasetError.invalidValue(item: "loader", field: "data", reason: "no images") }
        guard batchSize > 0 else { throw DatasetError.invalidValue(item: "loader", field: "batch_size", reason: "must be positive") }
        guard channels == 1 || channels == 3 else {
            throw DatasetError.invalidValue(item: "loader", field: "channels", reason: "detection reads gray (1) or RGB (3) images, not \(channels)")
        }
        guard mean.count == channels, std.count == channels, std.allSatisfy({ $0 > 0 }) else {
            throw DatasetError.invalidValue(item: "loader", field: "mean/std", reason: "need \(channels) values each, std > 0")
        }
        guard (1...64).contains(workers) else {
            throw DatasetError.invalidValue(item: "loader", field: "workers", reason: "expected 1...64, got \(workers)")
        }
        self.data = data
        self.batchSize = batchSize
        self.channels = channels; self.height = height; self.width = width
        self.augmentation = augmentation
        self.mean = mean; self.std = std
        self.shuffle = shuffle
        self.seed = seed
        self.workers = workers
        self.prefetch = prefetch
    }

    /// Training drops the last partial batch; evaluation keeps it.
    public var batchesPerEpoch: Int { shuffle ? max(data.count / batchSize, 1) : (data.count + batchSize - 1) / batchSize }

    public func order(epoch: Int) -> [Int] {
        var indices = Array(0..<data.count)
        guard shuffle else { return indices }
        var rng = RandomState.loaderEpoch(epoch, seed: seed)
        rng.shuffle(&indices)
        return indices
    }

    /// The batches of `epoch` from `startBatch` on; `augment: false` letterboxes only (the
    /// last epochs of YOLOX training, and evaluation).
    public func epoch(_ epoch: Int, startBatch: Int = 0, augment: Bool = true) -> Prefetcher<Result<DetectionBatch, ImageError>> {
        let order = order(epoch: epoch)
        return Prefetcher(range: startBatch..<batchesPerEpoch, workers: workers, prefetch: prefetch) { [self] index in
            makeBatch(epoch: epoch, index: index, order: order, augment: augment)
        }
    }

    public func makeBatch(epoch: Int, index: Int, order: [Int], augment: Bool) -> Result<DetectionBatch, ImageError> {
        let items = Array(order[(index * batchSize)..<min((index + 1) * batchSize, order.count)])
        let plane = channels * height * width
        let images = Tensor(zeros: [items.count, channels, height, width])
        var boxes: [[LabeledBox]] = [], letterboxes: [ImageOps.Letterbox] = []
        for (slot, item) in items.enumerated() {
            var rng = RandomState(seed: seed ^ (UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(index * batchSize + slot) &* 0xBF58_476D_1CE4_E5B9))
            let sample: (image: PixelImage, boxes: [LabeledBox], letterbox: ImageOps.Letterbox)
            do {
                sample = try self.sample(item, augment: augment, rng: &rng)
            } catch {
                return .failure(error)
            }
            ImageOps.normalize(sample.image, mean: mean, std: std,
                               into: UnsafeMutableBufferPointer(start: images.pointer + slot * plane, count: plane))
            boxes.append(sample.boxes)
            letterboxes.append(sample.letterbox)
        }
        return .success(DetectionBatch(images: images, boxes: boxes, items: items, letterboxes: letterboxes))
    }

    /// One input image and its boxes.
    func sample(_ item: Int, augment: Bool, rng: inout RandomState) throws(ImageError) -> (PixelImage, [LabeledBox], ImageOps.Letterbox) {
        var source = try data.pixels(item, channels: channels)
        var boxes = data.boxes(item)
        let letterbox: ImageOps.Letterbox
        if augment && augmentation.mosaic > 0 && Double(rng.nextFloat()) < augmentation.mosaic {
            // Four images on a 2H × 2W canvas around a random centre.
            var tiles = [(image: source, boxes: boxes)]
            for _ in 0..<3 {
                let other = rng.nextInt(data.count)
                tiles.append((try data.pixels(other, channels: channels), data.boxes(other)))
            }
            let side = 2 * max(height, width)
            (source, boxes) = Mosaic.combine(tiles, size: side, fill: Self.fill, rng: &rng)
            // The input is the canvas's middle.
            letterbox = ImageOps.Letterbox(scale: 1, padX: (width - side) / 2, padY: (height - side) / 2)
        } else {
            letterbox = ImageOps.Letterbox.fitting(width: source.width, height: source.height, into: width, height).box
        }
        var map = AxisMap(sx: Double(letterbox.scale), sy: Double(letterbox.scale), tx: Double(letterbox.padX), ty: Double(letterbox.padY))
        if augment { map = augmentation.drawPlacement(outWidth: width, outHeight: height, rng: &rng).after(map) }
        var image = map == .identity && source.width == width && source.height == height
            ? source : map.warp(source, width: width, height: height, fill: Self.fill)
        if augment, let (b, c, s) = augmentation.drawColor(&rng) {
            Augmentation.jitter(&image, brightness: b, contrast: c, saturation: s)
        }
        let placed = Augmentation.clip(boxes.map(map.apply), width: width, height: height, minVisible: augment ? 0.25 : 0)
        return (image, placed, letterbox)
    }
}
