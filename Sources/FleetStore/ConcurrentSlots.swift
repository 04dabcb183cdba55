import Foundation

/// One optional value per index, written from `concurrentPerform`'s workers.
public final class ConcurrentSlots<Value>: @unchecked Sendable {
    private let lock = NSLock()
    public private(set) var values: [Value?]
    public init(count: Int) { values = Array(repeating: nil, count: count) }
    public func set(_ i: Int, _ value: Value) { lock.withLock { values[i] = value } }
}
