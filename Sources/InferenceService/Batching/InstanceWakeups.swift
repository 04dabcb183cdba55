import Glibc

/// One lock with a condition per model instance, so the batcher wakes the one instance it
/// wants (the lowest-numbered idle one) instead of whichever waited longest. Timed waits run
/// on the monotonic clock.
final class InstanceWakeups: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let conditions: UnsafeMutablePointer<pthread_cond_t>
    let count: Int

    init(count: Int) {
        self.count = count
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        conditions = .allocate(capacity: count)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        for i in 0..<count { pthread_cond_init(conditions + i, &attributes) }
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        for i in 0..<count { pthread_cond_destroy(conditions + i) }
        pthread_mutex_destroy(mutex)
        conditions.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    /// Waits (the lock held) until instance `i` is signalled.
    func wait(_ i: Int) { pthread_cond_wait(conditions + i, mutex) }

    /// Waits (the lock held) until instance `i` is signalled or `timeout` passes.
    func wait(_ i: Int, timeout: Duration) {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let (seconds, attoseconds) = timeout.components
        let nanoseconds = Int(deadline.tv_nsec) + Int(max(0, attoseconds) / 1_000_000_000)
        deadline.tv_sec += Int(max(0, seconds)) + nanoseconds / 1_000_000_000
        deadline.tv_nsec = nanoseconds % 1_000_000_000
        pthread_cond_timedwait(conditions + i, mutex, &deadline)
    }

    func signal(_ i: Int) { pthread_cond_signal(conditions + i) }

    func signalAll() {
        for i in 0..<count { pthread_cond_signal(conditions + i) }
    }
}
