import Foundation

/// One optional value per index, written from `concurrentPerform`'s workers.
final class ConcurrentSlots<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Value?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: Value) { lock.withLock { values[i] = value } }
}
