import Foundation
import Synchronization

/// Wakes event watchers when new events are committed. It carries no events itself: a watcher
/// reads committed events from the store after its cursor, so every watcher sees every event
/// once, in sequence order, whatever order the committing tasks call `published` in.
public final class EventHub: Sendable {
    private struct State {
        var closed = false
        var latest: Int64
        var waiters: [UUID: (after: Int64, continuation: CheckedContinuation<Void, Never>)] = [:]
    }
    private let state: Mutex<State>

    public init(latest: Int64) { state = Mutex(State(latest: latest)) }

    public var latest: Int64 { state.withLock { $0.latest } }

    /// True once the service began shutting down: watchers end their streams.
    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Wakes every watcher for good (graceful shutdown), so none holds the server open.
    public func close() {
        let all = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.closed = true
            defer { s.waiters = [:] }
            return s.waiters.values.map(\.continuation)
        }
        for c in all { c.resume() }
    }

    /// Records that events up to `sequence` are committed and wakes the watchers behind it.
    public func published(upTo sequence: Int64) {
        let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.latest = max(s.latest, sequence)
            let due = s.waiters.filter { $0.value.after < s.latest }
            for id in due.keys { s.waiters[id] = nil }
            return due.map(\.value.continuation)
        }
        for c in ready { c.resume() }
    }

    /// Returns once an event after `sequence` is committed, or the task is cancelled.
    public func wait(after sequence: Int64) async {
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.latest > sequence || s.closed || Task.isCancelled { return true }
                    s.waiters[id] = (sequence, c)
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let c = state.withLock { $0.waiters.removeValue(forKey: id)?.continuation }
            c?.resume()
        }
    }
}
