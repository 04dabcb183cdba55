/// An RPC failure: a gRPC status code, a message, trailing metadata, optional binary status
/// details (`grpc-status-details-bin`) and the underlying cause.
public struct RPCError: Error, Sendable, CustomStringConvertible {
    public var code: Code
    public var message: String
    public var metadata: Metadata
    public var details: [UInt8]?
    public var cause: (any Error & Sendable)?

    public init(
        code: Code, message: String, metadata: Metadata = [:], details: [UInt8]? = nil,
        cause: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.message = message
        self.metadata = metadata
        self.details = details
        self.cause = cause
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let cause { text += " (cause: \(cause))" }
        return text
    }

    /// The gRPC status codes.
    public enum Code: Int, Sendable, CustomStringConvertible, CaseIterable {
        case ok = 0, cancelled, unknown, invalidArgument, deadlineExceeded, notFound, alreadyExists,
            permissionDenied, resourceExhausted, failedPrecondition, aborted, outOfRange,
            unimplemented, `internal`, unavailable, dataLoss, unauthenticated

        public var description: String {
            switch self {
            case .ok: "OK"
            case .cancelled: "CANCELLED"
            case .unknown: "UNKNOWN"
            case .invalidArgument: "INVALID_ARGUMENT"
            case .deadlineExceeded: "DEADLINE_EXCEEDED"
            case .notFound: "NOT_FOUND"
            case .alreadyExists: "ALREADY_EXISTS"
            case .permissionDenied: "PERMISSION_DENIED"
            case .resourceExhausted: "RESOURCE_EXHAUSTED"
            case .failedPrecondition: "FAILED_PRECONDITION"
            case .aborted: "ABORTED"
            case .outOfRange: "OUT_OF_RANGE"
            case .unimplemented: "UNIMPLEMENTED"
            case .internal: "INTERNAL"
            case .unavailable: "UNAVAILABLE"
            case .dataLoss: "DATA_LOSS"
            case .unauthenticated: "UNAUTHENTICATED"
            }
        }

        init(status: Int32) { self = Code(rawValue: Int(status)) ?? .unknown }
    }
}

/// A typed error of a lower module that knows its gRPC status. Only the RPC edge calls this.
public protocol RPCErrorConvertible: Error {
    var rpcError: RPCError { get }
}

extension RPCError {
    /// Maps any error thrown by a handler to the status sent to the client.
    static func from(_ error: any Error) -> RPCError {
        if let rpc = error as? RPCError { return rpc }
        if let convertible = error as? any RPCErrorConvertible { return convertible.rpcError }
        if error is CancellationError { return RPCError(code: .cancelled, message: "handler cancelled") }
        return RPCError(code: .internal, message: "internal error", cause: SendableDescription(error))
    }
}

/// A thread-safe stand-in for a non-Sendable cause: its description.
public struct SendableDescription: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ error: any Error) { description = String(describing: error) }
}

extension RPCError {
    /// INVALID_ARGUMENT naming the offending item and field, also as `vf-item` / `vf-field`
    /// trailing metadata for machines.
    public static func invalidArgument(item: String, field: String, message: String) -> RPCError {
        var metadata = Metadata()
        if !item.isEmpty { metadata.add("vf-item", item) }
        metadata.add("vf-field", field)
        return RPCError(code: .invalidArgument, message: message, metadata: metadata)
    }
}
