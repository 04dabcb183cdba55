import Synchronization

/// Runs async work one at a time per key, in the order it was asked for (loads, swaps and
/// unloads of one model never overlap; different models load side by side).
final class SerialTasks: Sendable {
    private let tails = Mutex<[String: Task<Void, Never>]>([:])

    func run<T: Sendable>(_ key: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task: Task<T, any Error> = tails.withLock { tails in
            let previous = tails[key]
            let task = Task<T, any Error> {
                await previous?.value
                return try await body()
            }
            tails[key] = Task { _ = try? await task.value }
            return task
        }
        return try await task.value
    }
}
