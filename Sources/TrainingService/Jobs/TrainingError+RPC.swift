import FleetRPC

/// The RPC edge: statuses for training errors.
extension TrainingError: RPCErrorConvertible {
    public var rpcError: RPCError {
        switch self {
        case .invalidArgument(let item, let field, _): .invalidArgument(item: item, field: field, message: description)
        case .notFound: RPCError(code: .notFound, message: description)
        case .failedPrecondition: RPCError(code: .failedPrecondition, message: description)
        case .resourceExhausted: RPCError(code: .resourceExhausted, message: description)
        case .unavailable: RPCError(code: .unavailable, message: description)
        case .storage: RPCError(code: .internal, message: "storage failure", cause: self)
        }
    }
}
