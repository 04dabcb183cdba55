import FleetProtos
import Foundation
import Synchronization

/// One model version's counters and durations, in Triton's terms: per request (success, fail,
/// queue, compute input / infer / output) and per executed batch size.
public final class InferenceStatistics: Sendable {
    struct Duration: Sendable { var count: UInt64 = 0; var ns: UInt64 = 0 }
    struct Batch: Sendable { var count: UInt64 = 0; var input = Duration(); var infer = Duration(); var output = Duration() }
    struct State: Sendable {
        var success = Duration(), fail = Duration(), queue = Duration()
        var computeInput = Duration(), computeInfer = Duration(), computeOutput = Duration()
        var inferenceCount: UInt64 = 0, executionCount: UInt64 = 0
        var lastInferenceMs: UInt64 = 0
        var batches: [Int: Batch] = [:]
    }
    private let state = Mutex(State())
    private let metrics: ModelMetrics?

    init(metrics: ModelMetrics? = nil) { self.metrics = metrics }

    /// A batch of `size` images ran.
    func recordBatch(size: Int, inputNs: UInt64, inferNs: UInt64, outputNs: UInt64) {
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        state.withLock { s in
            s.executionCount += 1
            s.inferenceCount += UInt64(size)
            s.lastInferenceMs = now
            var b = s.batches[size] ?? Batch()
            b.count += 1
            b.input.count += 1; b.input.ns += inputNs
            b.infer.count += 1; b.infer.ns += inferNs
            b.output.count += 1; b.output.ns += outputNs
            s.batches[size] = b
        }
        if let metrics {
            metrics.executions.increment()
            metrics.inferences.increment(by: Int64(size))
            metrics.batchSize.record(Double(size))
            metrics.computeInferMicroseconds.increment(by: Int64(inferNs / 1000))
        }
    }

    /// A request finished: its whole duration and, when it reached a batch, its share of it.
    public func recordRequest(success: Bool, totalNs: UInt64, timing: RequestTiming?) {
        state.withLock { s in
            if success { s.success.count += 1; s.success.ns += totalNs } else { s.fail.count += 1; s.fail.ns += totalNs }
            guard let t = timing else { return }
            s.queue.count += 1; s.queue.ns += t.queueNs
            s.computeInput.count += 1; s.computeInput.ns += t.computeInputNs
            s.computeInfer.count += 1; s.computeInfer.ns += t.computeInferNs
            s.computeOutput.count += 1; s.computeOutput.ns += t.computeOutputNs
        }
        if let metrics {
            (success ? metrics.success : metrics.failure).increment()
            metrics.requestMicroseconds.increment(by: Int64(totalNs / 1000))
            if let t = timing { metrics.queueMicroseconds.increment(by: Int64(t.queueNs / 1000)) }
        }
    }

    /// Totals for the metrics endpoint.
    public struct Totals: Sendable {
        public var success: UInt64, failure: UInt64, inferences: UInt64, executions: UInt64
        public var requestNs: UInt64, queueNs: UInt64, computeInferNs: UInt64
        public var batchCounts: [Int: UInt64]
    }

    public var totals: Totals {
        state.withLock { s in
            Totals(success: s.success.count, failure: s.fail.count, inferences: s.inferenceCount, executions: s.executionCount,
                   requestNs: s.success.ns + s.fail.ns, queueNs: s.queue.ns, computeInferNs: s.computeInfer.ns,
                   batchCounts: s.batches.mapValues(\.count))
        }
    }

    /// Triton's `ModelStatistics` message.
    func proto(name: String, version: String) -> Inference_ModelStatistics {
        let s = state.withLock { $0 }
        func d(_ v: Duration) -> Inference_StatisticDuration { .with { $0.count = v.count; $0.ns = v.ns } }
        return .with { m in
            m.name = name
            m.version = version
            m.lastInference = s.lastInferenceMs
            m.inferenceCount = s.inferenceCount
            m.executionCount = s.executionCount
            m.inferenceStats = .with {
                $0.success = d(s.success); $0.fail = d(s.fail); $0.queue = d(s.queue)
                $0.computeInput = d(s.computeInput); $0.computeInfer = d(s.computeInfer); $0.computeOutput = d(s.computeOutput)
                $0.cacheHit = .init(); $0.cacheMiss = .init()
            }
            m.batchStats = s.batches.keys.sorted().map { size in
                let b = s.batches[size]!
                return .with {
                    $0.batchSize = UInt64(size)
                    $0.computeInput = d(b.input); $0.computeInfer = d(b.infer); $0.computeOutput = d(b.output)
                }
            }
        }
    }
}

/// Where one request's time went inside vf-serve's batcher.
public struct RequestTiming: Sendable {
    public var queueNs: UInt64
    public var computeInputNs: UInt64
    public var computeInferNs: UInt64
    public var computeOutputNs: UInt64
    public var batchSize: Int
    /// When its batch's compute began, monotonic nanoseconds (traces place the other stamps from it).
    public var computeStartNs: UInt64 = 0
}
