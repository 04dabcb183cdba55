import Foundation

/// Two pieces of work at once: the second on a thread of its own, the first on the caller.
/// `concurrentPerform` waits for libdispatch's pool to lend a worker, and a pool whose threads
/// are parked in blocking waits (an RPC's handler, a queue's last job) lends none: both pieces
/// then ran on the caller one after the other while the other core sat idle.
public enum ForkJoin {
    public static func both<A, B: Sendable>(_ first: () throws -> A, _ second: @escaping @Sendable () -> B) rethrows -> (A, B) {
        let other = Joined(second)
        let thread = Thread { other.run() }
        thread.name = "vf-fork"
        thread.start()
        let a: A
        do { a = try first() } catch {
            _ = other.wait()
            throw error
        }
        return (a, other.wait())
    }

    /// The second piece and its result, handed over once. The piece is let go before the
    /// result is handed over, so nothing holds it once `both` returns (a caller may pass a
    /// closure made escapable with `withoutActuallyEscaping`).
    private final class Joined<B: Sendable>: @unchecked Sendable {
        private var work: (@Sendable () -> B)?
        private var value: B?
        private let done = DispatchSemaphore(value: 0)

        init(_ work: @escaping @Sendable () -> B) { self.work = work }

        func run() {
            let result = invoke()
            value = result
            done.signal()
        }

        @inline(never)
        private func invoke() -> B {
            let piece = work!
            work = nil
            return piece()
        }

        func wait() -> B {
            done.wait()
            return value!
        }
    }
}
