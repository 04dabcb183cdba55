import Foundation
import Synchronization

/// Persistent worker threads for `Parallel.forEachChunk`: a job is published with one atomic
/// increment, idle workers spin briefly before sleeping, and the caller runs chunks itself, so a
/// parallel region costs microseconds instead of a dispatch wake-up. One job at a time: a
/// second concurrent caller (or a nested call from inside a chunk) runs its work inline.
final class WorkerPool: @unchecked Sendable {
    /// One parallel region: chunks are claimed from its own counter, so a late worker can never
    /// run a chunk of a newer job with an older body.
    /// The body is reached through a pointer to the caller's (non-escaping) closure: a worker
    /// that still holds a finished job holds no reference to the closure, and never calls it,
    /// because no chunk is left to claim.
    final class Job: @unchecked Sendable {
        typealias Body = (Int, Range<Int>) -> Void
        let body: UnsafePointer<Body>
        let count: Int
        let chunks: Int
        let next = Atomic<Int>(0)
        let done = Atomic<Int>(0)

        init(body: UnsafePointer<Body>, count: Int, chunks: Int) {
            self.body = body
            self.count = count
            self.chunks = chunks
        }

        /// Claims and runs chunks until none is left.
        func work() {
            while true {
                let c = next.add(1, ordering: .relaxed).oldValue
                if c >= chunks { return }
                call(c)
                done.add(1, ordering: .releasing)
            }
        }

        @inline(never)
        private func call(_ c: Int) {
            body.pointee(c, count * c / chunks..<count * (c + 1) / chunks)
        }
    }

    private let current = Mutex<Job?>(nil)
    private let generation = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let submit = Mutex<Bool>(false)  // true while a job runs
    private let wake = NSCondition()
    let workerCount: Int

    /// Spins this many checks before a worker sleeps (about 50–100 µs).
    static let spinLimit = 20_000

    init(workers: Int) {
        workerCount = workers
        for i in 0..<workers {
            let thread = Thread { [unowned self] in self.workerLoop() }
            thread.name = "vf-tensors-\(i + 1)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Runs `body` over `chunks` chunks of 0..<count; returns when all are done.
    func run(count: Int, chunks: Int, _ body: (Int, Range<Int>) -> Void) {
        let acquired = submit.withLock { busy -> Bool in
            if busy { return false }
            busy = true
            return true
        }
        guard acquired else {
            for c in 0..<chunks { body(c, count * c / chunks..<count * (c + 1) / chunks) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            var closure: Job.Body = escapable
            withUnsafePointer(to: &closure) { runPublished(Job(body: $0, count: count, chunks: chunks)) }
        }
        submit.withLock { $0 = false }
    }

    private func runPublished(_ job: Job) {
        let chunks = job.chunks
        current.withLock { $0 = job }
        generation.add(1, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            wake.lock()
            wake.broadcast()
            wake.unlock()
        }
        job.work()
        var spins = 0
        while job.done.load(ordering: .acquiring) < chunks {
            spins += 1
            if spins > Self.spinLimit { sched_yield() }
        }
        current.withLock { $0 = nil }
    }

    private func workerLoop() {
        var seen = generation.load(ordering: .sequentiallyConsistent)
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen && spins < Self.spinLimit { spins += 1 }
            if generation.load(ordering: .acquiring) == seen {
                wake.lock()
                sleepers.add(1, ordering: .sequentiallyConsistent)
                while generation.load(ordering: .sequentiallyConsistent) == seen { wake.wait() }
                sleepers.subtract(1, ordering: .sequentiallyConsistent)
                wake.unlock()
            }
            seen = generation.load(ordering: .acquiring)
            if let job = current.withLock({ $0 }) { job.work() }
        }
    }
}
