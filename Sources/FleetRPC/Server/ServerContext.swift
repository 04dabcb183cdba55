import Foundation
import Logging
import Synchronization

/// What a handler knows about its call, and how it adds response metadata.
public final class ServerContext: Sendable {
    /// "/package.Service/Method".
    public let method: String
    public let peer: String
    public let requestMetadata: Metadata
    /// When the client's deadline expires (nil: none); grpc cancels the call then.
    public let deadline: ContinuousClock.Instant?
    public let logger: Logger

    let call: ServerCall
    private let trailers = Mutex(Metadata())

    init(method: String, peer: String, requestMetadata: Metadata, deadline: ContinuousClock.Instant?,
         logger: Logger, call: ServerCall) {
        self.method = method
        self.peer = peer
        self.requestMetadata = requestMetadata
        self.deadline = deadline
        self.logger = logger
        self.call = call
    }

    /// True once the client cancelled or the deadline passed.
    public var isCancelled: Bool { call.isCancelled }

    /// Adds response initial metadata; effective only before the first response message.
    public func addInitialMetadata(_ key: String, _ value: String) {
        call.addInitialMetadata(key.lowercased(), Array(value.utf8))
    }

    /// Adds trailing metadata, sent with the final status (on success and on error).
    public func addTrailingMetadata(_ key: String, _ value: String) {
        trailers.withLock { $0.add(key, value) }
    }

    var trailingMetadata: Metadata { trailers.withLock { $0 } }
}
