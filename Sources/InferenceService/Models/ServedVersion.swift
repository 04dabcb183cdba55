import Foundation
import Synchronization
import VectorIndex
import VisionModels

/// One version of a served model, loaded and warmed: its runtime behind a dynamic batcher,
/// preprocessing, statistics, and for retrieval its gallery. Requests hold a lease while they
/// use it, so a swap can drain it: `drain()` waits for the last lease, then stops the batcher.
public final class ServedVersion: Sendable {
    public let name: String
    public let version: Int32
    public let alias: String
    public let manifest: ModelManifest
    public let statistics: InferenceStatistics
    let runtime: ModelRuntime
    let batcher: DynamicBatcher
    let preprocessor: ImagePreprocessor
    let gallery: Gallery?
    private let leases = Mutex(Leases())

    private struct Leases {
        var count = 0
        var draining = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    /// `runtimes`: one per instance (`batching.instances`).
    init(name: String, version: Int32, alias: String, runtimes: [ModelRuntime], batching: BatchingConfig, maxPixels: Int, gallery: Gallery?,
         metrics: ServeMetrics? = nil) {
        let runtime = runtimes[0]
        self.statistics = InferenceStatistics(metrics: metrics?.model(name, version: version))
        self.name = name
        self.version = version
        self.alias = alias
        self.manifest = runtime.manifest
        self.runtime = runtime
        self.preprocessor = ImagePreprocessor(spec: runtime.manifest.preprocessing, maxPixels: maxPixels)
        self.gallery = gallery
        batcher = DynamicBatcher(name: "\(name)@\(version)", runtimes: runtimes, config: batching, statistics: statistics)
    }

    var task: ModelRuntime.Task { runtime.task }
    public var taskName: String { runtime.task.rawValue }
    public var batching: BatchingConfig { batcher.config }
    public var backendName: String { runtime.backendName }

    /// Takes a lease; false once draining (the caller looks up the current version again).
    func acquire() -> Bool {
        leases.withLock { l in
            guard !l.draining else { return false }
            l.count += 1
            return true
        }
    }

    func release() {
        let waiter = leases.withLock { l -> CheckedContinuation<Void, Never>? in
            l.count -= 1
            guard l.draining, l.count == 0 else { return nil }
            defer { l.waiter = nil }
            return l.waiter
        }
        waiter?.resume()
    }

    /// Waits until no request holds the version, then stops its batcher.
    func drain() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = leases.withLock { l -> Bool in
                l.draining = true
                if l.count == 0 { return true }
                l.waiter = continuation
                return false
            }
            if done { continuation.resume() }
        }
        await batcher.stop()
    }

    /// Runs one image's prepared input through the batcher.
    func infer(_ values: [Float], deadline: ContinuousClock.Instant?) async throws -> DynamicBatcher.Output {
        try await withCheckedThrowingContinuation { continuation in
            submit(values, deadline: deadline) { continuation.resume(with: $0) }
        }
    }

    /// Queues one image for the next batch; `complete` gets its output on the batcher's thread.
    func submit(_ values: [Float], deadline: ContinuousClock.Instant?,
                complete: @escaping @Sendable (Result<DynamicBatcher.Output, any Error>) -> Void) {
        guard values.count == preprocessor.valuesPerImage else {
            return complete(.failure(ServeError.invalidArgument(item: "\(name)@\(version)", field: "input",
                                                                message: "\(values.count) values, the model takes \(preprocessor.valuesPerImage) per image")))
        }
        batcher.submit(values, deadline: deadline, complete: complete)
    }

    /// Runs many images; outputs in order.
    func infer(batch: [[Float]], deadline: ContinuousClock.Instant?) async throws -> [DynamicBatcher.Output] {
        if batch.count == 1 { return [try await infer(batch[0], deadline: deadline)] }
        return try await withThrowingTaskGroup(of: (Int, DynamicBatcher.Output).self) { group in
            for (i, values) in batch.enumerated() {
                group.addTask { (i, try await self.infer(values, deadline: deadline)) }
            }
            var out = [DynamicBatcher.Output?](repeating: nil, count: batch.count)
            for try await (i, o) in group { out[i] = o }
            return out.map { $0! }
        }
    }
}
