import Foundation

/// Runs blocking C calls (server start and shutdown) on a dedicated thread, never on
/// Swift's cooperative pool or a grpc thread.
enum BlockingThread {
    static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }
}
