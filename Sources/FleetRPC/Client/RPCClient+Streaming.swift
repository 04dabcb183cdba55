import CGRPCShim
import SwiftProtobuf

extension RPCClient {
    /// Opens a streaming call of any kind on the shim.
    private func openStream(_ path: String, options: CallOptions?) -> ClientCall {
        let call = ClientCall(streaming: true)
        let context = Unmanaged.passRetained(call).toOpaque()
        let handle = channel.withOptions(path, options ?? defaultOptions) { o in
            vfg_client_stream(channel.handle, &o, clientCallEventCallback, context)
        }
        call.attach(handle!)
        return call
    }

    /// One request, a stream of responses consumed by `body`. Returning from `body` before the
    /// stream ended cancels the call.
    public func serverStreaming<Request: Message, Response: Message, Result>(
        _ path: String, _ request: Request, as: Response.Type = Response.self, options: CallOptions? = nil,
        body: (ClientResponseStream<Response>) async throws -> Result
    ) async throws -> Result {
        let bytes: [UInt8] = try request.serializedBytes()
        let call = openStream(path, options: options)
        defer { call.release() }
        return try await withTaskCancellationHandler {
            _ = await call.write(bytes)
            call.writesDone()
            return try await body(ClientResponseStream(call: call))
        } onCancel: {
            call.cancel()
        }
    }

    /// A stream of requests written by `requests`, one response.
    public func clientStreaming<Request: Message, Response: Message>(
        _ path: String, as: Response.Type = Response.self, options: CallOptions? = nil,
        requests: (ClientRequestWriter<Request>) async throws -> Void
    ) async throws -> ClientResponse<Response> {
        let call = openStream(path, options: options)
        defer { call.release() }
        return try await withTaskCancellationHandler {
            let writer = ClientRequestWriter<Request>(call: call)
            do {
                try await requests(writer)
            } catch let error as RPCError {
                throw error
            } catch {
                call.cancel()
                throw error
            }
            writer.finish()
            let data = await call.read()
            while await call.read() != nil {}  // a well-behaved server sends nothing more
            let status = await call.status()
            if let error = status.error { throw error }
            guard let data else { throw RPCError(code: .internal, message: "the server sent no response message") }
            do {
                return ClientResponse(message: try Response(serializedBytes: data),
                                      initialMetadata: call.initialMetadata, trailingMetadata: status.trailers)
            } catch {
                throw RPCError(code: .internal, message: "response is not a valid \(Response.protoMessageName): \(error)")
            }
        } onCancel: {
            call.cancel()
        }
    }

    /// Streams both ways: `requests` runs concurrently with `responses`. When `responses`
    /// returns, the call is cancelled if it has not finished.
    public func bidirectional<Request: Message, Response: Message, Result: Sendable>(
        _ path: String, as: Response.Type = Response.self, options: CallOptions? = nil,
        requests: @escaping @Sendable (ClientRequestWriter<Request>) async throws -> Void,
        responses: (ClientResponseStream<Response>) async throws -> Result
    ) async throws -> Result {
        let call = openStream(path, options: options)
        defer { call.release() }
        return try await withTaskCancellationHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let writer = ClientRequestWriter<Request>(call: call)
                    do {
                        try await requests(writer)
                        writer.finish()
                    } catch let error as RPCError {
                        throw error
                    } catch {
                        call.cancel()
                        throw error
                    }
                }
                let result: Result
                do {
                    result = try await responses(ClientResponseStream(call: call))
                } catch {
                    call.cancel()
                    throw error
                }
                // The response side is complete: a producer still writing gets a closed call.
                call.release()
                group.cancelAll()
                while let next = await group.nextResult() {
                    if case .failure(let error) = next, !(error is RPCError), !(error is CancellationError) {
                        throw error
                    }
                }
                return result
            }
        } onCancel: {
            call.cancel()
        }
    }
}
