import Synchronization

/// Counts the shim's WRITABLE events against the writers waiting for them, so that an event
/// arriving before its waiter is never lost (a counting semaphore without blocking).
final class WritableCredits: Sendable {
    private struct State {
        var credits = 0
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    /// Called from the shim's WRITABLE event.
    func signal() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { s in
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            s.credits += 1
            return nil
        }
        waiter?.resume()
    }

    /// Suspends until one WRITABLE event has arrived (or returns at once if it already has).
    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s -> Bool in
                if s.credits > 0 {
                    s.credits -= 1
                    return true
                }
                s.waiter = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }
}
