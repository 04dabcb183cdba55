import Foundation
import Tensors

/// Gathers one model version's requests into batches and runs them, one batch at a time per
/// instance: each instance (a runtime with its own plan, which is not reentrant) has its own
/// thread and its share of the cores, and takes the next batch when it is free. A batch runs when
/// it reaches the target size or when its oldest request has waited `maxQueueDelay`; requests
/// whose deadline passed are dropped before compute; a full queue refuses new ones at once.
/// Decoding and preprocessing happen in the callers' tasks, in parallel, outside this thread.
final class DynamicBatcher: @unchecked Sendable {
    struct Output: Sendable {
        var values: [Float]
        var timing: RequestTiming
    }

    private struct Pending {
        let values: [Float]
        let enqueued: ContinuousClock.Instant
        let deadline: ContinuousClock.Instant?
        let continuation: CheckedContinuation<Output, any Error>
    }

    let config: BatchingConfig
    let name: String
    private let runtimes: [ModelRuntime]
    private var runtime: ModelRuntime { runtimes[0] }
    private let statistics: InferenceStatistics
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queue: [Pending] = []
    private var queuedHead = 0
    private var stopping = false
    private var running: Int
    private var finished: Bool { running == 0 }
    private var stopWaiters: [CheckedContinuation<Void, Never>] = []
    // Arrival pacing: a moving average of the gap between requests, so a lone request does not
    // wait `maxQueueDelay` for company that is not coming.
    private var lastArrival: ContinuousClock.Instant?
    private var arrivalGapNs: Double = 0

    init(name: String, runtimes: [ModelRuntime], config: BatchingConfig, statistics: InferenceStatistics) {
        precondition(!runtimes.isEmpty, "a batcher needs a runtime")
        self.name = name
        self.runtimes = runtimes
        self.config = config
        self.statistics = statistics
        running = runtimes.count
        for (i, runtime) in runtimes.enumerated() {
            let thread = Thread { [self] in loop(runtime) }
            thread.name = "vf-serve batcher \(name) #\(i)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Runs one image's input values (C × H × W) in the next batch; its output values.
    func submit(_ values: [Float], deadline: ContinuousClock.Instant?) async throws -> Output {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Output, any Error>) in
            condition.lock()
            let waiting = queue.count - queuedHead
            if stopping {
                condition.unlock()
                continuation.resume(throwing: ServeError.unavailable("\(name) is unloading"))
            } else if waiting >= config.maxQueueSize {
                condition.unlock()
                continuation.resume(throwing: ServeError.resourceExhausted(
                    "\(name): the queue is full (\(waiting) requests waiting, max_queue_size \(config.maxQueueSize)); retry later"))
            } else {
                let now = ContinuousClock.now
                if let last = lastArrival {
                    let gap = Double(Self.nanoseconds(last.duration(to: now)))
                    arrivalGapNs = arrivalGapNs == 0 ? gap : 0.8 * arrivalGapNs + 0.2 * gap
                }
                lastArrival = now
                queue.append(Pending(values: values, enqueued: now, deadline: deadline, continuation: continuation))
                condition.signal()
                condition.unlock()
            }
        }
    }

    /// Refuses new requests, runs those already queued, then ends the thread.
    func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            stopping = true
            if finished {
                condition.unlock()
                continuation.resume()
            } else {
                stopWaiters.append(continuation)
                condition.broadcast()
                condition.unlock()
            }
        }
    }

    private func loop(_ runtime: ModelRuntime) {
        while let batch = nextBatch() {
            run(batch, on: runtime)
        }
        condition.lock()
        running -= 1
        let waiters = finished ? stopWaiters : []
        if finished { stopWaiters = [] }
        condition.unlock()
        for w in waiters { w.resume() }
    }

    /// Blocks until a batch is due; nil once stopping with nothing queued.
    private func nextBatch() -> [Pending]? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            while queue.count == queuedHead && !stopping { condition.wait() }
            if queue.count == queuedHead { return nil }
            let flushAt = queue[queuedHead].enqueued + .microseconds(config.maxQueueDelayMicroseconds)
            while queue.count - queuedHead < config.target && !stopping {
                let now = ContinuousClock.now
                guard now < flushAt else { break }
                // The next request is not expected before the delay runs out: run now.
                let remaining = Double(Self.nanoseconds(now.duration(to: flushAt)))
                if arrivalGapNs > remaining, let last = lastArrival, Double(Self.nanoseconds(last.duration(to: now))) + remaining < arrivalGapNs {
                    break
                }
                let wait = now.duration(to: flushAt)
                _ = condition.wait(until: Date(timeIntervalSinceNow: Double(wait.components.attoseconds) / 1e18 + Double(wait.components.seconds)))
            }
            let take = min(queue.count - queuedHead, config.maxBatchSize)
            var batch = Array(queue[queuedHead..<(queuedHead + take)])
            queuedHead += take
            if queuedHead > 1024 || queuedHead == queue.count {
                queue.removeFirst(queuedHead)
                queuedHead = 0
            }
            // A request whose deadline passed is answered now, not computed.
            let now = ContinuousClock.now
            batch.removeAll { p in
                guard let d = p.deadline, d <= now else { return false }
                p.continuation.resume(throwing: ServeError.deadlineExceeded(
                    "\(name): the request's deadline passed after \(Self.milliseconds(p.enqueued.duration(to: now))) ms in the queue"))
                return true
            }
            if !batch.isEmpty { return batch }
        }
    }

    private func run(_ batch: [Pending], on runtime: ModelRuntime) {
        let clock = ContinuousClock()
        let started = clock.now
        let n = batch.count, width = runtime.inputShape.reduce(1, *), outWidth = runtime.outputWidth
        let padded = runtime.paddedSize(n)
        let input = Tensor(uninitialized: [padded] + runtime.inputShape)
        if padded > n { (input.pointer + n * width).update(repeating: 0, count: (padded - n) * width) }
        for (i, p) in batch.enumerated() {
            p.values.withUnsafeBufferPointer { (input.pointer + i * width).update(from: $0.baseAddress!, count: width) }
        }
        let prepared = clock.now
        var output = [Float](repeating: 0, count: n * outWidth)
        do {
            try output.withUnsafeMutableBufferPointer { try runtime.execute(input, count: n, into: $0.baseAddress!) }
        } catch {
            for p in batch { p.continuation.resume(throwing: ServeError.failed("\(name): the model failed on a batch of \(n): \(error)")) }
            return
        }
        let inferred = clock.now
        let slices = (0..<n).map { Array(output[($0 * outWidth)..<(($0 + 1) * outWidth)]) }
        let done = clock.now
        let inputNs = Self.nanoseconds(started.duration(to: prepared)), inferNs = Self.nanoseconds(prepared.duration(to: inferred))
        let outputNs = Self.nanoseconds(inferred.duration(to: done))
        statistics.recordBatch(size: n, inputNs: inputNs, inferNs: inferNs, outputNs: outputNs)
        for (i, p) in batch.enumerated() {
            let timing = RequestTiming(queueNs: Self.nanoseconds(p.enqueued.duration(to: started)), computeInputNs: inputNs,
                                       computeInferNs: inferNs, computeOutputNs: outputNs, batchSize: n)
            p.continuation.resume(returning: Output(values: slices[i], timing: timing))
        }
    }

    static func nanoseconds(_ d: Swift.Duration) -> UInt64 {
        UInt64(max(0, d.components.seconds)) * 1_000_000_000 + UInt64(max(0, d.components.attoseconds / 1_000_000_000))
    }

    static func milliseconds(_ d: Swift.Duration) -> Double { Double(nanoseconds(d)) / 1e6 }
}
