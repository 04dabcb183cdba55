import Synchronization

/// The oneDNN primitives made so far for one op, by shape (nil: a shape oneDNN cannot do),
/// kept for the process; emptied when `capacity` is reached (a model's shapes at a couple of
/// batch sizes fit).
final class DNNLPrimitiveCache<Key: Hashable & Sendable, Primitive: AnyObject & Sendable>: Sendable {
    private let entries = Mutex([Key: Primitive?]())
    let capacity: Int

    init(capacity: Int = 128) { self.capacity = capacity }

    func shared(_ key: Key, make: (Key) -> Primitive?) -> Primitive? {
        entries.withLock { entries in
            if let known = entries[key] { return known }
            if entries.count >= capacity { entries.removeAll() }
            let made = make(key)
            entries[key] = made
            return made
        }
    }
}
