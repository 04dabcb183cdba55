import Foundation
import Tensors

/// One batch: images (N, C, H, W), normalised, and their class labels.
public struct Batch: @unchecked Sendable {
    public let images: Tensor
    public let labels: [Int32]
}

/// How a loader orders samples each epoch.
public enum BatchSampler: Sendable, Equatable {
    /// A seeded shuffle of everything (or the stored order when the loader does not shuffle).
    case random
    /// P classes × K images per batch (metric learning): classes drawn at random without
    /// repeats inside a batch, images cycled per class (repeated when a class has fewer than K).
    case classBalanced(p: Int, k: Int)
}

/// Shuffles with a seed, batches, augments and normalises on worker threads that stay
/// `prefetch` batches ahead of the consumer. The order and the augmentation of every batch are a
/// pure function of (seed, epoch, batch index), so runs and resumed runs see identical data.
public final class BatchLoader: @unchecked Sendable {
    public let data: ClassificationSet
    public let batchSize: Int
    public let shuffle: Bool
    public let dropLast: Bool
    public let augmentation: Augmentation
    public let seed: UInt64
    public let prefetch: Int
    /// Threads building batches ahead (each takes every `workers`-th batch; the result does not
    /// depend on the count).
    public let workers: Int
    public let sampler: BatchSampler
    private let scale: [Float], shift: [Float]

    /// `mean` and `std` are per channel, in [0, 1] pixel units.
    public init(data: ClassificationSet, batchSize: Int, shuffle: Bool, dropLast: Bool = false, augmentation: Augmentation = .none,
                mean: [Float], std: [Float], seed: UInt64, prefetch: Int = 2, workers: Int = 1,
                sampler: BatchSampler = .random) throws {
        guard (1...64).contains(workers) else {
            throw DatasetError.invalidValue(item: "loader", field: "workers", reason: "expected 1...64, got \(workers)")
        }
        self.workers = workers
        guard batchSize > 0 else { throw DatasetError.invalidValue(item: "loader", field: "batch_size", reason: "must be positive") }
        if case .classBalanced(let p, let k) = sampler {
            guard p * k == batchSize, p >= 2, k >= 1 else {
                throw DatasetError.invalidValue(item: "loader", field: "sampler", reason: "p × k must equal the batch size \(batchSize)")
            }
            let present = Set(data.labels).count
            guard present >= p else {
                throw DatasetError.invalidValue(item: "loader", field: "sampler.p", reason: "\(p) classes per batch, the data has \(present)")
            }
        }
        self.sampler = sampler
        guard mean.count == data.channels, std.count == data.channels, std.allSatisfy({ $0 > 0 }) else {
            throw DatasetError.invalidValue(item: "loader", field: "mean/std",
                                            reason: "need \(data.channels) values each, std > 0")
        }
        self.data = data
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.augmentation = augmentation
        self.seed = seed
        self.prefetch = max(workers, prefetch)
        scale = std.map { 1 / (255 * $0) }
        shift = zip(mean, std).map { -$0 / $1 }
    }

    public var batchesPerEpoch: Int {
        if case .classBalanced = sampler { return data.count / batchSize }
        return dropLast ? data.count / batchSize : (data.count + batchSize - 1) / batchSize
    }

    /// The sample order of `epoch`.
    public func order(epoch: Int) -> [Int] {
        var rng = RandomState.loaderEpoch(epoch, seed: seed)
        if case .classBalanced(let p, let k) = sampler { return classBalancedOrder(p: p, k: k, rng: &rng) }
        var indices = Array(0..<data.count)
        guard shuffle else { return indices }
        rng.shuffle(&indices)
        return indices
    }

    private func classBalancedOrder(p: Int, k: Int, rng: inout RandomState) -> [Int] {
        var byClass: [Int32: [Int]] = [:]
        for (i, label) in data.labels.enumerated() { byClass[label, default: []].append(i) }
        let classes = byClass.keys.sorted()
        var queues = classes.map { byClass[$0]! }
        var cursor = [Int](repeating: 0, count: classes.count)
        for c in queues.indices { rng.shuffle(&queues[c]) }
        var order: [Int] = []
        order.reserveCapacity(batchesPerEpoch * batchSize)
        for _ in 0..<batchesPerEpoch {
            var pool = Array(classes.indices)
            for _ in 0..<p {
                let c = pool.remove(at: rng.nextInt(pool.count))
                for _ in 0..<k {
                    if cursor[c] == queues[c].count { rng.shuffle(&queues[c]); cursor[c] = 0 }
                    order.append(queues[c][cursor[c]])
                    cursor[c] += 1
                }
            }
        }
        return order
    }

    /// Builds batch `index` of `epoch` (used by the prefetch thread, and directly by tests).
    public func makeBatch(epoch: Int, index: Int, order: [Int]) -> Batch {
        let start = index * batchSize
        let n = min(batchSize, data.count - start)
        let size = data.imageSize
        let images = Tensor(uninitialized: [n, data.channels, data.height, data.width])
        var labels = [Int32](repeating: 0, count: n)
        var rng = RandomState(seed: seed ^ (UInt64(epoch) << 32) ^ UInt64(index) &* 0xD1B5_4A32_D192_ED03)
        data.pixels.withUnsafeBufferPointer { pixels in
            for j in 0..<n {
                let item = order[start + j]
                labels[j] = data.labels[item]
                augmentation.apply(pixels.baseAddress! + item * size, into: images.pointer + j * size, channels: data.channels,
                                   height: data.height, width: data.width, scale: scale, shift: shift, rng: &rng)
            }
        }
        return Batch(images: images, labels: labels)
    }

    /// The batches of `epoch`, from `startBatch` on, produced ahead on a worker thread.
    public func epoch(_ epoch: Int, startBatch: Int = 0) -> Prefetcher<Batch> {
        let order = order(epoch: epoch)
        return Prefetcher(range: startBatch..<batchesPerEpoch, workers: workers, prefetch: prefetch) { [self] index in
            makeBatch(epoch: epoch, index: index, order: order)
        }
    }
}
