import FleetStore
import Foundation

/// `body(i)` for every index, on all cores in contiguous chunks (one core below `serialBelow`
/// elements); the results in index order.
enum ParallelMap {
    static func indices<T>(_ count: Int, serialBelow: Int = 2048, _ body: @Sendable (Int) -> T) -> [T] {
        let workers = count < serialBelow ? 1 : max(1, ProcessInfo.processInfo.activeProcessorCount)
        let chunks = ConcurrentSlots<[T]>(count: workers)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            chunks.set(w, ((count * w / workers)..<(count * (w + 1) / workers)).map(body))
        }
        return chunks.values.flatMap { $0! }
    }
}
