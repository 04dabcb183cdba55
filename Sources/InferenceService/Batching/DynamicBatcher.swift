import Foundation
import Tensors

/// Gathers one model version's requests into batches and runs them, one batch at a time per
/// instance: each instance (a runtime with its own plan, which is not reentrant) has its own
/// thread and its share of the cores, and takes the next batch when it is free. The next batch
/// is formed by the lowest-numbered idle instance, so under light load one instance (its weights
/// hot in its core's cache) serves every request and the others join as load grows. A batch runs
/// when it reaches the target size or when its oldest request has waited `maxQueueDelay`;
/// requests whose deadline passed are dropped before compute; a full queue refuses new ones at
/// once. Decoding and preprocessing happen on the callers' threads, in parallel, outside this one.
final class DynamicBatcher: @unchecked Sendable {
    struct Output: Sendable {
        var values: [Float]
        var timing: RequestTiming
    }

    private struct Pending {
        let values: [Float]
        let enqueued: ContinuousClock.Instant
        let deadline: ContinuousClock.Instant?
        /// Answers the request, on the instance's thread (or the submitter's, when refused).
        let complete: @Sendable (Result<Output, any Error>) -> Void
    }

    let config: BatchingConfig
    let name: String
    private let runtimes: [ModelRuntime]
    private let statistics: InferenceStatistics
    private let wakeups: InstanceWakeups
    // Guarded by `wakeups`.
    private var queue: [Pending] = []
    /// Which instances are running a batch.
    private var busy: [Bool]
    /// Batches each instance has run.
    private var executions: [Int]
    /// Batches run on every core (a wide plan while the other instances idled).
    private var wideExecutions = 0
    /// Requests queued or running, and its moving average as seen by each arriving request
    /// (about the clients in flight: 1 when one client sends one request at a time).
    private var inSystem = 0
    private var inSystemAverage: Double = 0
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
        busy = Array(repeating: false, count: runtimes.count)
        executions = Array(repeating: 0, count: runtimes.count)
        wakeups = InstanceWakeups(count: runtimes.count)
        for (i, runtime) in runtimes.enumerated() {
            let thread = Thread { [self] in loop(i, runtime) }
            thread.name = "vf-serve batcher \(name) #\(i)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Runs one image's input values (C × H × W) in the next batch; its output values.
    func submit(_ values: [Float], deadline: ContinuousClock.Instant?) async throws -> Output {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Output, any Error>) in
            submit(values, deadline: deadline) { continuation.resume(with: $0) }
        }
    }

    /// Queues one image's input values; `complete` receives its output on the instance thread
    /// that ran it (at once, on the caller's thread, when the request is refused). It should be
    /// brief: the instance forms its next batch after answering.
    func submit(_ values: [Float], deadline: ContinuousClock.Instant?, complete: @escaping @Sendable (Result<Output, any Error>) -> Void) {
        wakeups.lock()
        let waiting = queue.count - queuedHead
        if stopping {
            wakeups.unlock()
            complete(.failure(ServeError.unavailable("\(name) is unloading")))
        } else if waiting >= config.maxQueueSize {
            wakeups.unlock()
            complete(.failure(ServeError.resourceExhausted(
                "\(name): the queue is full (\(waiting) requests waiting, max_queue_size \(config.maxQueueSize)); retry later")))
        } else {
            let now = ContinuousClock.now
            if let last = lastArrival {
                let gap = Double(Self.nanoseconds(last.duration(to: now)))
                arrivalGapNs = arrivalGapNs == 0 ? gap : 0.8 * arrivalGapNs + 0.2 * gap
            }
            lastArrival = now
            inSystem += 1
            inSystemAverage = 0.9 * inSystemAverage + 0.1 * Double(inSystem)
            queue.append(Pending(values: values, enqueued: now, deadline: deadline, complete: complete))
            if let next = nextInstance { wakeups.signal(next) }
            wakeups.unlock()
        }
    }

    /// Refuses new requests, runs those already queued, then ends the thread.
    func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            wakeups.lock()
            stopping = true
            if finished {
                wakeups.unlock()
                continuation.resume()
            } else {
                stopWaiters.append(continuation)
                wakeups.signalAll()
                wakeups.unlock()
            }
        }
    }

    /// Batches run so far by each instance, and how many of them ran wide.
    var executionsPerInstance: (runs: [Int], wide: Int) {
        wakeups.lock()
        defer { wakeups.unlock() }
        return (executions, wideExecutions)
    }

    /// The idle instance that forms the next batch: the lowest-numbered one.
    private var nextInstance: Int? { busy.firstIndex(of: false) }

    private func loop(_ instance: Int, _ runtime: ModelRuntime) {
        ComputeScheduling.enterCompute(instance: instance)
        while let next = nextBatch(for: instance) {
            for (p, error) in next.expired { p.complete(.failure(error)) }
            if !next.batch.isEmpty {
                ComputeScheduling.observe(saturated: next.saturated)
                run(next.batch, on: runtime, instance: instance, wide: next.wide)
            }
        }
        wakeups.lock()
        running -= 1
        let waiters = finished ? stopWaiters : []
        if finished { stopWaiters = [] }
        wakeups.unlock()
        for w in waiters { w.resume() }
    }

    /// Blocks until a batch is due for `instance`; nil once stopping with nothing queued. `wide`:
    /// the batch runs on the instance's wide plan, on every core. `expired`: requests whose
    /// deadline passed in the queue, to be answered (outside the lock) instead of run.
    /// `saturated`: the batch is full and more requests wait (`ComputeScheduling`).
    private func nextBatch(for instance: Int) -> (batch: [Pending], wide: Bool, saturated: Bool, expired: [(Pending, ServeError)])? {
        wakeups.lock()
        defer { wakeups.unlock() }
        while true {
            // Only the lowest-numbered idle instance forms a batch (any instance drains on stop).
            while (queue.count == queuedHead || nextInstance != instance) && !stopping { wakeups.wait(instance) }
            if queue.count == queuedHead { return nil }
            let flushAt = queue[queuedHead].enqueued + .microseconds(config.maxQueueDelayMicroseconds)
            while queue.count - queuedHead < config.target && !stopping {
                // A lower-numbered instance fell idle meanwhile: it forms this batch.
                guard nextInstance == instance else { break }
                let now = ContinuousClock.now
                guard now < flushAt else { break }
                // The next request is not expected before the delay runs out: run now.
                let remaining = Double(Self.nanoseconds(now.duration(to: flushAt)))
                if arrivalGapNs > remaining, let last = lastArrival, Double(Self.nanoseconds(last.duration(to: now))) + remaining < arrivalGapNs {
                    break
                }
                wakeups.wait(instance, timeout: now.duration(to: flushAt))
            }
            if nextInstance != instance && !stopping { continue }
            let take = min(queue.count - queuedHead, config.maxBatchSize)
            var batch = Array(queue[queuedHead..<(queuedHead + take)])
            queuedHead += take
            if queuedHead > 1024 || queuedHead == queue.count {
                queue.removeFirst(queuedHead)
                queuedHead = 0
            }
            // A request whose deadline passed is answered now, not computed.
            let now = ContinuousClock.now
            var expired: [(Pending, ServeError)] = []
            batch.removeAll { p in
                guard let d = p.deadline, d <= now else { return false }
                inSystem -= 1
                expired.append((p, .deadlineExceeded(
                    "\(name): the request's deadline passed after \(Self.milliseconds(p.enqueued.duration(to: now))) ms in the queue")))
                return true
            }
            if batch.isEmpty { return ([], false, false, expired) }
            busy[instance] = true
            // The next idle instance now forms the following batch: wake it if work waits.
            if queue.count > queuedHead, let next = nextInstance { wakeups.signal(next) }
            // Every core for this batch (the instance's wide plan) only when nothing else runs
            // or waits and clients send one request at a time (more would arrive while it ran,
            // for the other instances).
            let alone = queue.count == queuedHead && !busy.enumerated().contains { $0.offset != instance && $0.element }
            let wide = alone && inSystemAverage < 1.5 && runtimes[instance].hasWidePlan
            return (batch, wide, take == config.maxBatchSize && queue.count > queuedHead, expired)
        }
    }

    /// Marks `instance` idle and counts its batch, before its requests are answered, so a client
    /// that answers back at once finds it free.
    private func markIdle(_ instance: Int, wide: Bool, requests: Int) {
        wakeups.lock()
        inSystem -= requests
        busy[instance] = false
        executions[instance] += 1
        if wide { wideExecutions += 1 }
        wakeups.unlock()
    }

    private func run(_ batch: [Pending], on runtime: ModelRuntime, instance: Int, wide: Bool) {
        let clock = ContinuousClock()
        let started = clock.now
        let startedNs = RequestTracer.monotonicNs()
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
            try output.withUnsafeMutableBufferPointer { try runtime.execute(input, count: n, wide: wide, into: $0.baseAddress!) }
        } catch {
            markIdle(instance, wide: wide, requests: n)
            for p in batch { p.complete(.failure(ServeError.failed("\(name): the model failed on a batch of \(n): \(error)"))) }
            return
        }
        let inferred = clock.now
        let slices = (0..<n).map { Array(output[($0 * outWidth)..<(($0 + 1) * outWidth)]) }
        let done = clock.now
        let inputNs = Self.nanoseconds(started.duration(to: prepared)), inferNs = Self.nanoseconds(prepared.duration(to: inferred))
        let outputNs = Self.nanoseconds(inferred.duration(to: done))
        statistics.recordBatch(size: n, inputNs: inputNs, inferNs: inferNs, outputNs: outputNs)
        markIdle(instance, wide: wide, requests: n)
        for (i, p) in batch.enumerated() {
            let timing = RequestTiming(queueNs: Self.nanoseconds(p.enqueued.duration(to: started)), computeInputNs: inputNs,
                                       computeInferNs: inferNs, computeOutputNs: outputNs, batchSize: n, computeStartNs: startedNs)
            p.complete(.success(Output(values: slices[i], timing: timing)))
        }
    }

    static func nanoseconds(_ d: Swift.Duration) -> UInt64 {
        UInt64(max(0, d.components.seconds)) * 1_000_000_000 + UInt64(max(0, d.components.attoseconds / 1_000_000_000))
    }

    static func milliseconds(_ d: Swift.Duration) -> Double { Double(nanoseconds(d)) / 1e6 }
}
