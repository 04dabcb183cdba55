import CGRPCShim
import Foundation
import Logging

/// What the shim's new-call callback reaches: the router, the interceptors and the logger.
/// Retained by the C server until it is destroyed.
final class ServerCore: Sendable {
    let router: RPCRouter
    let interceptors: [any ServerInterceptor]
    /// The interceptors' synchronous forms; nil when one has none (inline calls then take a task).
    let inlineInterceptors: [any InlineServerInterceptor]?
    let logger: Logger

    init(router: RPCRouter, interceptors: [any ServerInterceptor], logger: Logger) {
        self.router = router
        self.interceptors = interceptors
        let inline = interceptors.compactMap { $0 as? any InlineServerInterceptor }
        self.inlineInterceptors = inline.count == interceptors.count ? inline : nil
        self.logger = logger
    }

    /// Starts one call (on the grpc thread that accepted it). A call whose request comes with it
    /// (unary, server streaming) first reads that request; then an inline handler may answer it
    /// on the spot, else its task starts with the request in hand.
    func accept(call: ServerCall, context: ServerContext) {
        guard let route = router.routes[context.method], route.prefetch else {
            return startTask(call, context, router.routes[context.method]?.handler)
        }
        call.prefetchFirstMessage { [self] data in
            if let data, let inline = route.inline, let hooks = inlineInterceptors,
               runInline(data, call, context, inline, hooks) {
                return
            }
            call.keepPrefetched(data)
            startTask(call, context, route.handler)
        }
    }

    private func startTask(_ call: ServerCall, _ context: ServerContext, _ handler: RPCRouter.Handler?) {
        let task = Task { await serve(call: call, context: context, handler: handler) }
        call.attach(task: task)
    }

    /// Offers the call to its inline handler; true when the handler took it (or admission
    /// refused it), false when the call should run in a task.
    private func runInline(_ data: Data, _ call: ServerCall, _ context: ServerContext, _ inline: RPCRouter.InlineHandler,
                           _ hooks: [any InlineServerInterceptor]) -> Bool {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            for hook in hooks { try hook.admit(context: context) }
        } catch {
            finish(call, context, error: error)
            for hook in hooks { hook.completed(context: context, error: error, duration: clock.now - start) }
            call.release()
            return true
        }
        let completion = UnaryCompletion { [self] result in
            var failure: (any Error)?
            switch result {
            case .success(let bytes):
                call.finish(finalMessage: bytes, status: CallStatus(code: .ok, message: "", trailers: context.trailingMetadata))
            case .failure(let error):
                failure = error
                finish(call, context, error: error)
            }
            for hook in hooks { hook.completed(context: context, error: failure, duration: clock.now - start) }
            call.release()
        }
        return inline(data, context, completion)
    }

    /// Runs one call to completion in its task: intercept, handle, map errors, release.
    private func serve(call: ServerCall, context: ServerContext, handler: RPCRouter.Handler?) async {
        guard let handler else {
            call.finish(status: CallStatus(code: .unimplemented, message: "method \(context.method) is not implemented"))
            call.release()
            return
        }
        do {
            try await interceptors.run(context: context) { try await handler(call, context) }
        } catch {
            finish(call, context, error: error)
        }
        call.release()
    }

    /// Ends a call with the status `error` maps to (logging internal failures).
    private func finish(_ call: ServerCall, _ context: ServerContext, error: any Error) {
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
    core.accept(call: call, context: serverContext)
}
