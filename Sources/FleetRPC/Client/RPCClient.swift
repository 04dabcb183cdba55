import CGRPCShim
import Foundation
import SwiftProtobuf

/// Typed calls of every kind over an `RPCChannel`. Streaming calls are scoped: when the body
/// returns, a call that has not finished is cancelled, so a consumer that stops iterating
/// cancels the RPC.
public struct RPCClient: Sendable {
    public let channel: RPCChannel
    public var defaultOptions: CallOptions

    public init(channel: RPCChannel, defaultOptions: CallOptions = CallOptions()) {
        self.channel = channel
        self.defaultOptions = defaultOptions
    }

    // MARK: unary

    public func unary<Request: Message, Response: Message>(
        _ path: String, _ request: Request, as: Response.Type = Response.self, options: CallOptions? = nil
    ) async throws -> Response {
        try await unaryWithMetadata(path, request, as: Response.self, options: options).message
    }

    public func unaryWithMetadata<Request: Message, Response: Message>(
        _ path: String, _ request: Request, as: Response.Type = Response.self, options: CallOptions? = nil
    ) async throws -> ClientResponse<Response> {
        let bytes: [UInt8] = try request.serializedBytes()
        let call = ClientCall(streaming: false)
        let context = Unmanaged.passRetained(call).toOpaque()
        let status = await withTaskCancellationHandler {
            let handle = channel.withOptions(path, options ?? defaultOptions) { o in
                bytes.withUnsafeBufferPointer {
                    vfg_client_unary(channel.handle, &o, $0.baseAddress, $0.count, clientCallEventCallback, context)
                }
            }
            call.attach(handle!)
            return await call.status()
        } onCancel: {
            call.cancel()
        }
        call.release()
        if let error = status.error { throw error }
        guard let data = call.unaryResponse else {
            throw RPCError(code: .internal, message: "the server sent no response message")
        }
        do {
            return ClientResponse(message: try Response(serializedBytes: data),
                                  initialMetadata: call.initialMetadata, trailingMetadata: status.trailers)
        } catch {
            throw RPCError(code: .internal, message: "response is not a valid \(Response.protoMessageName): \(error)")
        }
    }
}
