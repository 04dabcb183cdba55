import CGRPCShim
import Foundation
import Logging

/// What the shim's new-call callback reaches: the router, the interceptors and the logger.
/// Retained by the C server until it is destroyed.
final class ServerCore: Sendable {
    let router: RPCRouter
    let interceptors: [any ServerInterceptor]
    let logger: Logger

    init(router: RPCRouter, interceptors: [any ServerInterceptor], logger: Logger) {
        self.router = router
        self.interceptors = interceptors
        self.logger = logger
    }

    /// Runs one call to completion: route, intercept, handle, map errors, release.
    func serve(call: ServerCall, context: ServerContext) async {
        guard let handler = router.handlers[context.method] else {
            call.finish(status: CallStatus(code: .unimplemented, message: "method \(context.method) is not implemented"))
            call.release()
            return
        }
        do {
            try await interceptors.run(context: context) { try await handler(call, context) }
        } catch {
            let status = RPCError.from(error)
            if status.code == .internal {
                context.logger.error("handler failed", metadata: [
                    "method": "\(context.method)", "error": "\(status)",
                ])
            }
            var trailers = context.trailingMetadata
            for entry in status.metadata { trailers.appendRaw(key: entry.key, value: entry.value) }
            call.finish(status: CallStatus(code: status.code, message: status.message, details: status.details,
                                           trailers: trailers))
        }
        call.release()
    }
}

/// The C new-call callback, formed outside any actor: wraps the call, registers its event
/// callback, and starts the handler task.
let serverNewCallCallback: vfg_new_call_callback = { context, handle, info in
    guard let context, let handle, let info else { return }
    let core = Unmanaged<ServerCore>.fromOpaque(context).takeUnretainedValue()
    let call = ServerCall(handle: handle)
    vfg_server_call_set_callback(handle, serverCallEventCallback, Unmanaged.passRetained(call).toOpaque())

    let i = info.pointee
    let method = String(decoding: UnsafeRawBufferPointer(start: i.method, count: i.method_length), as: UTF8.self)
    let peer = String(decoding: UnsafeRawBufferPointer(start: i.peer, count: i.peer_length), as: UTF8.self)
    var deadline: ContinuousClock.Instant?
    if i.deadline_unix_nanos != Int64.max {
        let remaining = Double(i.deadline_unix_nanos) / 1e9 - Date().timeIntervalSince1970
        deadline = ContinuousClock.now.advanced(by: .seconds(remaining))
    }
    let serverContext = ServerContext(
        method: method, peer: peer, requestMetadata: Metadata(i.metadata), deadline: deadline,
        logger: core.logger, call: call)
    let task = Task { await core.serve(call: call, context: serverContext) }
    call.attach(task: task)
}
