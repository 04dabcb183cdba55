import FleetStore
import Foundation

/// `body(i)` for every index, on all cores (one below `serialBelow` elements); the results in
/// index order. The indices go out in contiguous runs, eight per core, taken by whichever core
/// is free: a core busy elsewhere (the stream's thread, the client) does not hold the rest back.
enum ParallelMap {
    static func indices<T>(_ count: Int, serialBelow: Int = 2048, _ body: @Sendable (Int) -> T) -> [T] {
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        guard count >= serialBelow, cores > 1, count > 1 else { return (0..<count).map(body) }
        let runs = min(count, cores * 8)
        let results = ConcurrentSlots<[T]>(count: runs)
        DispatchQueue.concurrentPerform(iterations: runs) { r in
            results.set(r, ((count * r / runs)..<(count * (r + 1) / runs)).map(body))
        }
        return results.values.flatMap { $0! }
    }
}
