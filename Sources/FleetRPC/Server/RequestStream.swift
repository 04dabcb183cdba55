import SwiftProtobuf

/// The request messages of a client-streaming or bidirectional call, decoded on demand:
/// each `next()` reads one message from the network, so a slow handler slows the client.
public struct RequestStream<Message: SwiftProtobuf.Message>: AsyncSequence, Sendable {
    let call: ServerCall

    public struct AsyncIterator: AsyncIteratorProtocol {
        let call: ServerCall
        var index = 0

        public mutating func next() async throws -> Message? {
            guard let data = await call.read() else { return nil }
            defer { index += 1 }
            do {
                return try Message(serializedBytes: data)
            } catch {
                throw RPCError(code: .invalidArgument,
                               message: "request message \(index) is not a valid \(Message.protoMessageName): \(error)")
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(call: call) }
}

/// Sends the response messages of a server-streaming or bidirectional call. `write`
/// suspends while the call's bounded write queue is full (backpressure).
public struct ResponseWriter<Message: SwiftProtobuf.Message>: Sendable {
    let call: ServerCall

    public func write(_ message: Message) async throws {
        let bytes: [UInt8] = try message.serializedBytes()
        try await call.write(bytes)
    }
}
