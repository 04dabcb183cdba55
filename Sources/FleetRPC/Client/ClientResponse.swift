import SwiftProtobuf

/// A unary (or client-streaming) response with the server's metadata.
public struct ClientResponse<Message: SwiftProtobuf.Message>: Sendable {
    public let message: Message
    public let initialMetadata: Metadata
    public let trailingMetadata: Metadata
}

/// The responses of a server-streaming or bidirectional call. Each `next()` reads one message
/// from the network; after the last one it throws the call's error status, if any.
public struct ClientResponseStream<Message: SwiftProtobuf.Message>: AsyncSequence, Sendable {
    let call: ClientCall

    /// The server's initial metadata (empty until it arrived).
    public var initialMetadata: Metadata { call.initialMetadata }

    /// The trailing metadata; waits for the end of the call.
    public func trailingMetadata() async -> Metadata { await call.status().trailers }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let call: ClientCall
        var finished = false

        public mutating func next() async throws -> Message? {
            if finished { return nil }
            if let data = await call.read() {
                do {
                    return try Message(serializedBytes: data)
                } catch {
                    call.cancel()
                    throw RPCError(code: .internal, message: "response is not a valid \(Message.protoMessageName): \(error)")
                }
            }
            finished = true
            if let error = await call.status().error { throw error }
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(call: call) }
}

/// Sends the requests of a client-streaming or bidirectional call; `write` suspends while the
/// call's bounded write queue is full.
public struct ClientRequestWriter<Message: SwiftProtobuf.Message>: Sendable {
    let call: ClientCall

    public func write(_ message: Message) async throws {
        try await write(serialized: try message.serializedBytes())
    }

    /// Sends a request its producer serialized itself (`Message`'s binary form): the import's
    /// read-ahead encodes its messages as it reads the files into them.
    public func write(serialized bytes: [UInt8]) async throws {
        if await call.write(bytes) == .closed {
            // The server already ended the call (or the connection broke): read to the end,
            // which lets the call finish, and report why.
            while await call.read() != nil {}
            throw await call.status().error
                ?? RPCError(code: .failedPrecondition, message: "the server finished the call before all requests were sent")
        }
    }

    /// Half-closes the request stream (done automatically when the request producer returns).
    public func finish() { call.writesDone() }
}
