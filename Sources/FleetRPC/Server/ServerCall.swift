import CGRPCShim
import Foundation
import Synchronization

/// The Swift side of one incoming call: reads, bounded writes, finish, and the cancellation
/// that the shim reports. Retained by the shim (as the event context) until RELEASE.
final class ServerCall: Sendable {
    nonisolated(unsafe) let handle: OpaquePointer
    private let reads = ReadSlot()
    private let writable = WritableCredits()

    private struct State {
        var cancelled = false
        var task: Task<Void, Never>?
        var released = false
        /// Takes the first request message (or nil at the end of the stream) when the call asked
        /// for it at accept time (`prefetchFirstMessage`); later messages go to `read()`.
        var firstMessageTaker: (@Sendable (Data?) -> Void)?
        /// That first message, kept for the handler's first `read()` (`.some(nil)`: the stream ended).
        var prefetched: Data??
    }
    private let state = Mutex(State())

    init(handle: OpaquePointer) {
        self.handle = handle
    }

    var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// Attaches the handler's task so a client cancel or an expired deadline cancels it.
    func attach(task: Task<Void, Never>) {
        let cancelNow = state.withLock { s -> Bool in
            s.task = task
            return s.cancelled
        }
        if cancelNow { task.cancel() }
    }

    /// Reads the first request message now, before any handler runs (unary and server-streaming
    /// calls, whose request comes with the call): `take` receives it on a grpc thread, so a
    /// handler starts with its request in hand instead of waiting for it.
    func prefetchFirstMessage(_ take: @escaping @Sendable (Data?) -> Void) {
        state.withLock { $0.firstMessageTaker = take }
        vfg_server_call_request_read(handle)
    }

    /// Hands a prefetched first message to the handler's first `read()`.
    func keepPrefetched(_ data: Data?) {
        state.withLock { $0.prefetched = .some(data) }
    }

    func handle(_ event: ShimEvent) {
        switch event {
        case .message(let data): deliver(data)
        case .endOfStream: deliver(nil)
        case .writable: writable.signal()
        case .cancelled:
            let task = state.withLock { s -> Task<Void, Never>? in
                s.cancelled = true
                return s.task
            }
            task?.cancel()
        case .initialMetadata, .done, .release: break
        }
    }

    private func deliver(_ data: Data?) {
        let taker = state.withLock { s -> (@Sendable (Data?) -> Void)? in
            defer { s.firstMessageTaker = nil }
            return s.firstMessageTaker
        }
        if let taker { taker(data) } else { reads.deliver(data) }
    }

    /// The next request message, or nil at the end of the request stream.
    func read() async -> Data? {
        let kept = state.withLock { s -> Data?? in
            defer { s.prefetched = nil }
            return s.prefetched
        }
        if let kept { return kept }
        return await reads.read { vfg_server_call_request_read(handle) }
    }

    /// Queues one response message, suspending while the write queue is full.
    func write(_ bytes: [UInt8]) async throws {
        let result = bytes.withUnsafeBufferPointer { vfg_server_call_write(handle, $0.baseAddress, $0.count) }
        switch result {
        case VFG_WRITE_OK: return
        case VFG_WRITE_FULL: await writable.wait()
        default: throw RPCError(code: .cancelled, message: "the call is closed: the client cancelled or went away")
        }
    }

    func addInitialMetadata(_ key: String, _ value: [UInt8]) {
        var key = key
        key.withUTF8 { k in
            value.withUnsafeBufferPointer { v in
                vfg_server_call_add_initial_metadata(handle, UnsafeRawPointer(k.baseAddress!).assumingMemoryBound(to: CChar.self),
                                                     k.count, v.baseAddress, v.count)
            }
        }
    }

    /// Ends the call with `status`; `finalMessage` (unary and client-streaming responses) is
    /// sent together with the status.
    func finish(finalMessage: [UInt8]? = nil, status: CallStatus) {
        var message = status.message
        message.withUTF8 { text in
            (status.details ?? []).withUnsafeBufferPointer { details in
                var cStatus = vfg_status(
                    code: Int32(status.code.rawValue),
                    message: UnsafeRawPointer(text.baseAddress).map { $0.assumingMemoryBound(to: CChar.self) },
                    message_length: text.count,
                    details: status.details == nil ? nil : details.baseAddress,
                    details_length: status.details?.count ?? 0)
                status.trailers.withCEntries { entries, count in
                    var trailers = vfg_metadata(entries: entries, count: count)
                    if let finalMessage {
                        // A non-NULL pointer marks "has a final message", even an empty one.
                        let storage = finalMessage.isEmpty ? [0] : finalMessage
                        storage.withUnsafeBufferPointer { msg in
                            vfg_server_call_finish(handle, msg.baseAddress, finalMessage.count, &cStatus, &trailers)
                        }
                    } else {
                        vfg_server_call_finish(handle, nil, 0, &cStatus, &trailers)
                    }
                }
            }
        }
    }

    /// Drops the Swift side's reference to the shim call (once).
    func release() {
        let first = state.withLock { s -> Bool in
            defer { s.released = true }
            return !s.released
        }
        if first { vfg_server_call_release(handle) }
    }
}

/// The C event callback of server calls, formed outside any actor.
let serverCallEventCallback: vfg_event_callback = { context, event in
    guard let context, let event, let decoded = ShimEvent(event) else { return }
    let unmanaged = Unmanaged<ServerCall>.fromOpaque(context)
    if case .release = decoded {
        unmanaged.release()
        return
    }
    unmanaged.takeUnretainedValue().handle(decoded)
}
