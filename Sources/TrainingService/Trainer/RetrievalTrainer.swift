import Foundation
import Tensors
import VectorIndex
import VisionData
import VisionEval
import VisionModels

/// Trains an embedding model for similar-image retrieval: backbone + pooling + projection,
/// L2-normalised, with ArcFace (random batches) or supervised-contrastive / batch-hard triplet
/// losses (P×K batches); evaluates by exact search of query embeddings against a gallery.
public final class RetrievalTrainer {
    public let config: ExperimentConfig
    public let retrieval: ExperimentConfig.Retrieval
    public let model: EmbeddingModel
    public let head: ArcFaceHead?

    public struct Result: Sendable {
        /// hit_rate@k (Recall@k), precision@k, recall@k, map@k, ndcg@k for k in 1, 5, 10; mrr.
        public let metrics: [String: Double]
        public let wallSeconds: Double
        public let trainImagesPerSecond: Double
        public let evaluationSeconds: Double
    }

    public init(config: ExperimentConfig, classes: Int) throws {
        guard let retrieval = config.retrieval else { throw ConfigError("task", "RetrievalTrainer needs task: retrieval") }
        self.config = config
        self.retrieval = retrieval
        let backbone = try BackboneRegistry.build(config.backbone, inputChannels: config.channels, classes: 1, seed: config.seed)
        let pooling: EmbeddingModel.Pooling = switch config.pooling {
        case "max": .max
        case "gem": .gem(p: config.gemP)
        default: .average
        }
        model = EmbeddingModel(backbone: backbone, pooling: pooling, dimension: retrieval.dimension, seed: config.seed)
        head = retrieval.loss == "arcface"
            ? ArcFaceHead(dimension: retrieval.dimension, classes: classes, scale: retrieval.scale, margin: retrieval.margin, seed: config.seed)
            : nil
    }

    /// Trains on `train`, then embeds `gallery` and `queries` and scores the retrieval. With
    /// `checkpoints`, a checkpoint (model, head, optimizer, position) is written there after
    /// every epoch, and a run that finds one continues from it exactly. `stopAfterEpoch` ends
    /// the run early (as a crash would) and skips the evaluation.
    public func run(train: ClassificationSet, gallery: ClassificationSet, queries: ClassificationSet, checkpoints: URL? = nil,
                    stopAfterEpoch: Int? = nil, progress: (TrainerEvent) -> Void = { _ in }) throws -> Result {
        guard train.channels == config.channels, train.height == config.height, train.width == config.width else {
            throw ConfigError("data.input", "config says \(config.channels)×\(config.height)×\(config.width), data is \(train.channels)×\(train.height)×\(train.width)")
        }
        let sampler: BatchSampler = retrieval.sampler.map { .classBalanced(p: $0.p, k: $0.k) } ?? .random
        let loader = try BatchLoader(data: train, batchSize: config.batchSize, shuffle: true, dropLast: true,
                                     augmentation: config.augmentation, mean: config.mean, std: config.std, seed: config.seed,
                                     prefetch: config.prefetch, workers: config.loaderWorkers, sampler: sampler)
        let stepsPerEpoch = loader.batchesPerEpoch
        let schedule = config.schedule(stepsPerEpoch: stepsPerEpoch)
        var named = model.namedParameters()
        if let head { named += head.namedParameters().map { ("head.\($0.0)", $0.1) } }
        let optimizer = TrainingSupport.optimizer(config, named)
        let graph = Graph()
        let clock = ContinuousClock()
        let start = clock.now
        var step = 0, trained = 0
        var trainSeconds = 0.0
        let totalSteps = config.epochs * stepsPerEpoch
        var firstEpoch = 0
        let tensors = RunTensors(model: model.stateDict() + (head?.stateDict().map { ("head.\($0.0)", $0.1) } ?? []),
                                 optimizer: optimizer, ema: nil)
        if let saved = try tensors.resume(from: checkpoints) {
            firstEpoch = saved.nextEpoch
            step = saved.step
        }
        var window = ProgressWindow(totalSteps: totalSteps, batchSize: config.batchSize)
        for epoch in firstEpoch..<config.epochs {
            let epochStart = clock.now
            for batch in loader.epoch(epoch) {
                optimizer.learningRate = schedule.rate(base: config.optimizer.lr, step: step)
                let embeddings = try model(Variable(batch.images), graph)
                let loss: Variable
                switch retrieval.loss {
                case "arcface": loss = try graph.crossEntropy(try head!.logits(embeddings, labels: batch.labels, graph), targets: batch.labels)
                case "triplet":
                    loss = try graph.tripletBatchHard(try graph.linear(embeddings, weight: embeddings, bias: nil), labels: batch.labels,
                                                      margin: retrieval.margin)
                default:
                    loss = try graph.supervisedContrastive(try graph.linear(embeddings, weight: embeddings, bias: nil), labels: batch.labels,
                                                           temperature: retrieval.temperature)
                }
                let value = try TrainingSupport.step(loss, graph: graph, optimizer: optimizer, step: step)
                step += 1
                trained += batch.labels.count
                if let event = window.record(epoch: epoch, step: step, images: batch.labels.count, loss: value,
                                             learningRate: optimizer.learningRate) {
                    progress(event)
                }
            }
            trainSeconds += TrainingSupport.seconds(clock.now - epochStart)
            if let checkpoints {
                try tensors.checkpoint(nextEpoch: epoch + 1, step: step, bestScore: -1, bestMetrics: [:], best: [:]).write(to: checkpoints)
                progress(.checkpoint(epoch: epoch))
            }
            if let stopAfterEpoch, epoch + 1 >= stopAfterEpoch, epoch + 1 < config.epochs {
                return Result(metrics: [:], wallSeconds: TrainingSupport.seconds(clock.now - start),
                              trainImagesPerSecond: Double(trained) / max(trainSeconds, 1e-9), evaluationSeconds: 0)
            }
        }
        let evalStart = clock.now
        let metrics = try evaluate(gallery: gallery, queries: queries)
        let evaluationSeconds = TrainingSupport.seconds(clock.now - evalStart)
        progress(.epoch(epoch: config.epochs - 1, metrics: metrics, isBest: true, wallSeconds: evaluationSeconds))
        return Result(metrics: metrics, wallSeconds: TrainingSupport.seconds(clock.now - start),
                      trainImagesPerSecond: Double(trained) / max(trainSeconds, 1e-9), evaluationSeconds: evaluationSeconds)
    }

    /// Unit embeddings of every image, in order.
    public func embed(_ data: ClassificationSet) throws -> [Float] {
        let plan = try model.inferencePlan(height: data.height, width: data.width)
        let loader = try BatchLoader(data: data, batchSize: 250, shuffle: false, mean: config.mean, std: config.std, seed: 0)
        var out: [Float] = []
        out.reserveCapacity(data.count * model.dimension)
        for batch in loader.epoch(0) { out += try model.embed(batch.images, plan: plan) }
        return out
    }

    /// Queries against the gallery by exact cosine search; relevant = same class.
    public func evaluate(gallery: ClassificationSet, queries: ClassificationSet, ks: [Int] = [1, 5, 10]) throws -> [String: Double] {
        let index = ExactIndex(dimension: model.dimension)
        try index.add(try embed(gallery), ids: (0..<gallery.count).map(Int64.init))
        let hits = try index.search(try embed(queries), k: ks.max()!)
        var perClass: [Int32: Int] = [:]
        for label in gallery.labels { perClass[label, default: 0] += 1 }
        var metrics = RetrievalMetrics(ks: ks)
        for (q, row) in hits.enumerated() {
            let label = queries.labels[q]
            metrics.add(ranked: row.map { gallery.labels[Int($0.id)] == label }, totalRelevant: perClass[label] ?? 0)
        }
        return metrics.values
    }
}
