/// How one model's requests are gathered into batches (Triton's `dynamic_batching`).
public struct BatchingConfig: Sendable, Equatable {
    /// The most images run at once.
    public var maxBatchSize: Int
    /// How long the oldest waiting request may wait for others to join its batch.
    public var maxQueueDelayMicroseconds: Int
    /// Batch sizes worth waiting for (the largest is the target); empty = `maxBatchSize`.
    public var preferredBatchSizes: [Int]
    /// The most images waiting; more are refused with RESOURCE_EXHAUSTED.
    public var maxQueueSize: Int
    /// Copies of the model running batches side by side, each on its own thread with its share
    /// of the cores (Triton's instance_group count); `automatic` (0) lets the model decide.
    public var instances: Int
    /// Two instances where there are two cores to split and the model is small (a compiled
    /// network for every batch size up to oneDNN's chunk fits the budget, as ResNet-20's at
    /// 32×32 do), else one: a small model's batch is short, so two threads on it spend much of
    /// it at barriers — waiting, too, for a core a network thread took — while one thread per
    /// instance never waits; a large model's batch is long enough for both cores and its
    /// networks are large (YOLOX-tiny's three instances' plans would hold 3× the memory).
    public static let automatic = 0

    /// Defaults that fit 2 cores: instances chosen per model (`automatic`); batches of up to 8,
    /// so with 32 clients in flight on two instances one batch is ready whenever an instance
    /// frees; a request waits at most 200 µs for company.
    public init(maxBatchSize: Int = 8, maxQueueDelayMicroseconds: Int = 200, preferredBatchSizes: [Int] = [], maxQueueSize: Int = 512,
                instances: Int = BatchingConfig.automatic) {
        self.instances = instances
        self.maxBatchSize = maxBatchSize
        self.maxQueueDelayMicroseconds = maxQueueDelayMicroseconds
        self.preferredBatchSizes = preferredBatchSizes
        self.maxQueueSize = maxQueueSize
    }

    /// The batch size the batcher waits for.
    var target: Int { min(preferredBatchSizes.max() ?? maxBatchSize, maxBatchSize) }

    /// Checks the values; `name` is the model they configure.
    public func validated(for name: String) throws(ServeError) -> BatchingConfig {
        guard maxBatchSize >= 1 else { throw .invalidArgument(item: name, field: "max_batch_size", message: "must be at least 1") }
        guard maxQueueDelayMicroseconds >= 0 else {
            throw .invalidArgument(item: name, field: "max_queue_delay_us", message: "must not be negative")
        }
        guard (0...64).contains(instances) else {
            throw .invalidArgument(item: name, field: "instances", message: "\(instances) is not within 1...64 (0 or auto: chosen per model)")
        }
        guard maxQueueSize >= maxBatchSize else {
            throw .invalidArgument(item: name, field: "max_queue_size", message: "must be at least max_batch_size (\(maxBatchSize))")
        }
        if let bad = preferredBatchSizes.first(where: { $0 < 1 || $0 > maxBatchSize }) {
            throw .invalidArgument(item: name, field: "preferred_batch_sizes", message: "\(bad) is not within 1...\(maxBatchSize)")
        }
        return self
    }

    /// Parses `max_batch=32,delay_us=200,preferred=8/16,queue=512,instances=2` (any subset) over `self`.
    public func overridden(by text: String, for name: String) throws(ServeError) -> BatchingConfig {
        var config = self
        for part in text.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2 else { throw .invalidArgument(item: name, field: "batching", message: "'\(part)' is not key=value") }
            switch kv[0] {
            case "max_batch":
                guard let v = Int(kv[1]) else { throw .invalidArgument(item: name, field: "max_batch", message: "'\(kv[1])' is not a number") }
                config.maxBatchSize = v
            case "delay_us":
                guard let v = Int(kv[1]) else { throw .invalidArgument(item: name, field: "delay_us", message: "'\(kv[1])' is not a number") }
                config.maxQueueDelayMicroseconds = v
            case "instances":
                guard let v = kv[1] == "auto" ? BatchingConfig.automatic : Int(kv[1]) else { throw .invalidArgument(item: name, field: "instances", message: "'\(kv[1])' is not a number") }
                config.instances = v
            case "queue":
                guard let v = Int(kv[1]) else { throw .invalidArgument(item: name, field: "queue", message: "'\(kv[1])' is not a number") }
                config.maxQueueSize = v
            case "preferred":
                var sizes: [Int] = []
                for s in kv[1].split(separator: "/") {
                    guard let v = Int(s) else { throw .invalidArgument(item: name, field: "preferred", message: "'\(s)' is not a number") }
                    sizes.append(v)
                }
                config.preferredBatchSizes = sizes
            default:
                throw .invalidArgument(item: name, field: "batching",
                                       message: "unknown key '\(kv[0])' (max_batch, delay_us, preferred, queue, instances)")
            }
        }
        return try config.validated(for: name)
    }
}
