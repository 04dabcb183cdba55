import Foundation

/// Items `range` made on `workers` threads (worker w makes every `workers`-th item from w on),
/// at most `prefetch` ahead of the consumer, handed out in order. Dropping the iterator early
/// stops the workers. Batches of every loader come through here.
public final class Prefetcher<Element>: Sequence, IteratorProtocol, @unchecked Sendable {
    /// What the workers and the consumer share; a worker never holds the iterator itself.
    final class Shared: @unchecked Sendable {
        let condition = NSCondition()
        var ready: [Int: Element] = [:]
        var nextToTake: Int
        var stopped = false
        init(start: Int) { nextToTake = start }
    }

    private let shared: Shared
    private let end: Int

    public init(range: Range<Int>, workers: Int, prefetch: Int, make: @escaping @Sendable (Int) -> Element) {
        let shared = Shared(start: range.lowerBound)
        self.shared = shared
        end = range.upperBound
        let threads = Swift.max(workers, 1), ahead = Swift.max(threads, prefetch)
        for worker in 0..<threads {
            let thread = Thread {
                for index in stride(from: range.lowerBound + worker, to: range.upperBound, by: threads) {
                    shared.condition.lock()
                    while !shared.stopped && index - shared.nextToTake >= ahead { shared.condition.wait() }
                    let stop = shared.stopped
                    shared.condition.unlock()
                    if stop { return }
                    let item = make(index)
                    shared.condition.lock()
                    shared.ready[index] = item
                    shared.condition.broadcast()
                    shared.condition.unlock()
                }
            }
            thread.name = "vf-loader-\(worker)"
            thread.start()
        }
    }

    deinit {
        shared.condition.lock()
        shared.stopped = true
        shared.condition.broadcast()
        shared.condition.unlock()
    }

    public func next() -> Element? {
        shared.condition.lock()
        defer { shared.condition.unlock() }
        guard shared.nextToTake < end else { return nil }
        while shared.ready[shared.nextToTake] == nil { shared.condition.wait() }
        let item = shared.ready.removeValue(forKey: shared.nextToTake)
        shared.nextToTake += 1
        shared.condition.broadcast()
        return item
    }
}
