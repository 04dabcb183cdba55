import Foundation
import SwiftProtobuf

/// Typed handlers by method path. Each registration adapts one call kind onto the shim's
/// bidirectional byte stream and enforces that kind's message counts.
public struct RPCRouter: Sendable {
    typealias Handler = @Sendable (ServerCall, ServerContext) async throws -> Void
    /// Takes a unary call's request bytes on the grpc thread that received them and either
    /// promises to complete it (true) or declines (false: the call runs `handler` in a task).
    typealias InlineHandler = @Sendable (Data, ServerContext, UnaryCompletion) -> Bool

    struct Route: Sendable {
        let handler: Handler
        /// The request comes with the call (unary, server streaming): read it at accept time.
        var prefetch = false
        var inline: InlineHandler?
    }

    private(set) var routes: [String: Route] = [:]

    public init() {}

    public var methods: [String] { routes.keys.sorted() }


    /// One request, one response.
    public mutating func unary<Request: Message, Response: Message>(
        _ path: String, _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        routes[path] = Route(handler: { call, context in
            let request: Request = try await Self.readSingle(call, context)
            let response = try await handler(request, context)
            call.finish(finalMessage: try response.serializedBytes(),
                        status: CallStatus(code: .ok, message: "", trailers: context.trailingMetadata))
        }, prefetch: true)
    }

    /// One request, one response, answered without a task when `inline` takes the call: it runs
    /// on the grpc thread that received the request, must not block, and either returns false
    /// (the call then runs `handler` in a task, as `unary` does) or returns true and completes
    /// the responder exactly once, from any thread. For hot paths whose work is queued elsewhere
    /// (a batcher's thread answers), this saves the task and its thread hops. Inline calls pass
    /// the interceptors' synchronous forms (`InlineServerInterceptor`); with any other
    /// interceptor installed, every call takes the task.
    public mutating func unary<Request: Message, Response: Message>(
        _ path: String,
        inline: @escaping @Sendable (Request, ServerContext, UnaryResponder<Response>) -> Bool,
        _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        unary(path, handler)
        routes[path]?.inline = { data, context, completion in
            let request: Request
            do {
                request = try Request(serializedBytes: data)
            } catch {
                completion.complete(.failure(RPCError(code: .invalidArgument,
                                                      message: "the request is not a valid \(Request.protoMessageName): \(error)")))
                return true
            }
            let responder = UnaryResponder<Response>(completion)
            let taken = inline(request, context, responder)
            if !taken { responder.decline() }
            return taken
        }
    }

    /// One request, a stream of responses.
    public mutating func serverStreaming<Request: Message, Response: Message>(
        _ path: String,
        _ handler: @escaping @Sendable (Request, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        routes[path] = Route(handler: { call, context in
            let request: Request = try await Self.readSingle(call, context)
            try await handler(request, ResponseWriter(call: call), context)
            call.finish(status: CallStatus(code: .ok, message: "", trailers: context.trailingMetadata))
        }, prefetch: true)
    }

    /// A stream of requests, one response.
    public mutating func clientStreaming<Request: Message, Response: Message>(
        _ path: String,
        _ handler: @escaping @Sendable (RequestStream<Request>, ServerContext) async throws -> Response
    ) {
        routes[path] = Route(handler: { call, context in
            let response = try await handler(RequestStream(call: call), context)
            call.finish(finalMessage: try response.serializedBytes(),
                        status: CallStatus(code: .ok, message: "", trailers: context.trailingMetadata))
        })
    }

    /// Streams both ways.
    public mutating func bidirectional<Request: Message, Response: Message>(
        _ path: String,
        _ handler: @escaping @Sendable (RequestStream<Request>, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        routes[path] = Route(handler: { call, context in
            try await handler(RequestStream(call: call), ResponseWriter(call: call), context)
            call.finish(status: CallStatus(code: .ok, message: "", trailers: context.trailingMetadata))
        })
    }

    /// Reads the single request of a unary or server-streaming call.
    private static func readSingle<Request: Message>(_ call: ServerCall, _ context: ServerContext) async throws -> Request {
        guard let data = await call.read() else {
            if call.isCancelled { throw RPCError(code: .cancelled, message: "the client cancelled before sending its request") }
            if let deadline = context.deadline, deadline <= .now {
                throw RPCError(code: .deadlineExceeded, message: "the deadline passed before the request arrived")
            }
            throw RPCError(code: .internal, message: "the client sent no request message")
        }
        do {
            return try Request(serializedBytes: data)
        } catch {
            throw RPCError(code: .invalidArgument,
                           message: "the request is not a valid \(Request.protoMessageName): \(error)")
        }
    }
}

/// A service implementation: its full name (for health) and its handlers.
public protocol RPCService: Sendable {
    /// "package.Service", as in `grpc.health.v1.HealthCheckRequest.service`.
    var serviceName: String { get }
    func register(into router: inout RPCRouter)
    /// Whether health reports SERVING for this service as soon as the server starts (default
    /// true); a service that becomes ready later sets its status through `RPCServer.setServing`.
    var servingAtStart: Bool { get }
}

extension RPCService {
    public var servingAtStart: Bool { true }
}
