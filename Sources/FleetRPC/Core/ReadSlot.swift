import Foundation
import Synchronization

/// The one outstanding read of a call: the shim answers every read request with exactly one
/// MESSAGE or END_OF_STREAM event, which resumes the waiting reader.
final class ReadSlot: Sendable {
    private let waiter = Mutex<CheckedContinuation<Data?, Never>?>(nil)

    /// Registers the reader, then asks the shim for the next message via `request`.
    func read(request: () -> Void) async -> Data? {
        await withCheckedContinuation { continuation in
            waiter.withLock { $0 = continuation }
            request()
        }
    }

    /// Called from MESSAGE (data) or END_OF_STREAM (nil) events.
    func deliver(_ data: Data?) {
        let w = waiter.withLock { w -> CheckedContinuation<Data?, Never>? in
            defer { w = nil }
            return w
        }
        w?.resume(returning: data)
    }
}
