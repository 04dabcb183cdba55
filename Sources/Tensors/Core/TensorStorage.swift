import Foundation
import Synchronization

/// A 64-byte aligned Float32 buffer. Freed on deinit, or returned to its pool for reuse.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let capacity: Int
    weak var pool: BufferPool?

    init(capacity: Int, pool: BufferPool? = nil) {
        var raw: UnsafeMutableRawPointer?
        let bytes = max(capacity, 1) * MemoryLayout<Float>.stride
        let status = posix_memalign(&raw, 64, bytes)  // never inside precondition: -Ounchecked drops it
        guard status == 0, let raw else { fatalError("out of memory allocating \(bytes) bytes") }
        pointer = raw.bindMemory(to: Float.self, capacity: max(capacity, 1))
        self.capacity = capacity
        self.pool = pool
    }

    deinit { free(pointer) }
}

/// Recycles buffers by exact size, so a training step reaches a steady state without
/// allocating: every buffer of step k is handed back (`recycle`) and reused in step k+1.
public final class BufferPool: @unchecked Sendable {
    private let free = Mutex<[Int: [TensorStorage]]>([:])
    private let created = Mutex(0)

    public init() {}

    public func take(_ count: Int) -> TensorStorage {
        if let reused = free.withLock({ $0[count]?.popLast() }) { return reused }
        created.withLock { $0 += 1 }
        return TensorStorage(capacity: count, pool: self)
    }

    /// Buffers this pool has allocated so far (a steady-state step adds none).
    public var allocations: Int { created.withLock { $0 } }

    public func recycle(_ storage: TensorStorage) {
        free.withLock { $0[storage.capacity, default: []].append(storage) }
    }

    /// Buffers currently parked in the pool (for tests of steady state).
    public var parkedCount: Int { free.withLock { $0.values.reduce(0) { $0 + $1.count } } }
}
