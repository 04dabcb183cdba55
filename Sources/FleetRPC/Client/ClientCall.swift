import CGRPCShim
import Foundation
import Synchronization

/// The Swift side of one outgoing call. The shim retains it (as the event context) until
/// RELEASE; the C handle is guarded so that cancel and release never race a use.
final class ClientCall: Sendable {
    private let reads = ReadSlot()
    private let writable = WritableCredits()

    private struct State {
        var handle: UnsafeHandle?
        var users = 0
        var releaseRequested = false
        var cancelRequested = false
        var initialMetadata = Metadata()
        var unaryResponse: Data?
        var status: CallStatus?
        var statusWaiters: [CheckedContinuation<CallStatus, Never>] = []
    }
    private let state = Mutex(State())

    /// Sets the handle returned by the shim; applies a cancel requested before it existed.
    func attach(_ handle: OpaquePointer) {
        let cancel = state.withLock { s -> Bool in
            s.handle = UnsafeHandle(UnsafeMutableRawPointer(handle))
            return s.cancelRequested
        }
        if cancel { withHandle { vfg_client_call_cancel($0) } }
    }

    /// Runs `body` with the C handle unless the call was released; returns nil then.
    @discardableResult
    func withHandle<R>(_ body: (OpaquePointer) -> R) -> R? {
        let handle = state.withLock { s -> UnsafeHandle? in
            guard let h = s.handle, !s.releaseRequested else { return nil }
            s.users += 1
            return h
        }
        guard let handle else { return nil }
        let result = body(OpaquePointer(handle.pointer))
        let releaseNow = state.withLock { s -> UnsafeHandle? in
            s.users -= 1
            guard s.users == 0, s.releaseRequested, let h = s.handle else { return nil }
            s.handle = nil
            return h
        }
        if let releaseNow { vfg_client_call_release(OpaquePointer(releaseNow.pointer)) }
        return result
    }

    func cancel() {
        let attached = state.withLock { s -> Bool in
            s.cancelRequested = true
            return s.handle != nil
        }
        if attached { withHandle { vfg_client_call_cancel($0) } }
    }

    /// Drops the Swift reference; the shim cancels the call if it has not finished.
    func release() {
        let handle = state.withLock { s -> UnsafeHandle? in
            guard !s.releaseRequested else { return nil }
            s.releaseRequested = true
            guard s.users == 0, let h = s.handle else { return nil }
            s.handle = nil
            return h
        }
        if let handle { vfg_client_call_release(OpaquePointer(handle.pointer)) }
    }

    func handle(_ event: ShimEvent) {
        switch event {
        case .message(let data):
            // A unary call gets its response as one unrequested MESSAGE before DONE.
            if isStreaming {
                reads.deliver(data)
            } else {
                state.withLock { $0.unaryResponse = data }
            }
        case .endOfStream: reads.deliver(nil)
        case .writable: writable.signal()
        case .initialMetadata(let metadata): state.withLock { $0.initialMetadata = metadata }
        case .done(let status):
            let waiters = state.withLock { s -> [CheckedContinuation<CallStatus, Never>] in
                s.status = status
                defer { s.statusWaiters = [] }
                return s.statusWaiters
            }
            for w in waiters { w.resume(returning: status) }
        case .cancelled, .release: break
        }
    }

    let isStreaming: Bool
    init(streaming: Bool) { isStreaming = streaming }

    var initialMetadata: Metadata { state.withLock { $0.initialMetadata } }
    var unaryResponse: Data? { state.withLock { $0.unaryResponse } }

    /// The final status, once the call is over.
    func status() async -> CallStatus {
        await withCheckedContinuation { continuation in
            let done = state.withLock { s -> CallStatus? in
                if let status = s.status { return status }
                s.statusWaiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// The next response message, or nil once the server finished (or the call was released).
    func read() async -> Data? {
        await reads.read {
            if withHandle({ vfg_client_call_request_read($0) }) == nil { reads.deliver(nil) }
        }
    }

    enum WriteOutcome { case written, closed }

    /// Queues one request message, suspending while the write queue is full.
    func write(_ bytes: [UInt8]) async -> WriteOutcome {
        let result = withHandle { handle in
            bytes.withUnsafeBufferPointer { vfg_client_call_write(handle, $0.baseAddress, $0.count) }
        } ?? VFG_WRITE_CLOSED
        switch result {
        case VFG_WRITE_OK: return .written
        case VFG_WRITE_FULL:
            await writable.wait()
            return .written
        default: return .closed
        }
    }

    func writesDone() {
        withHandle { vfg_client_call_writes_done($0) }
    }
}

/// The C event callback of client calls, formed outside any actor.
let clientCallEventCallback: vfg_event_callback = { context, event in
    guard let context, let event, let decoded = ShimEvent(event) else { return }
    let unmanaged = Unmanaged<ClientCall>.fromOpaque(context)
    if case .release = decoded {
        unmanaged.release()
        return
    }
    unmanaged.takeUnretainedValue().handle(decoded)
}
