import FleetRPC

/// The RPC edge: each serving error becomes its gRPC status; invalid arguments also carry the
/// item and field as trailing metadata (`vf-item`, `vf-field`).
extension ServeError: RPCErrorConvertible {
    public var rpcError: RPCError {
        switch self {
        case .invalidArgument(let item, let field, _): .invalidArgument(item: item, field: field, message: description)
        case .notFound: RPCError(code: .notFound, message: description)
        case .unavailable: RPCError(code: .unavailable, message: description)
        case .resourceExhausted: RPCError(code: .resourceExhausted, message: description)
        case .deadlineExceeded: RPCError(code: .deadlineExceeded, message: description)
        case .failedPrecondition: RPCError(code: .failedPrecondition, message: description)
        case .failed: RPCError(code: .internal, message: description)
        case .alreadyExists: RPCError(code: .alreadyExists, message: description)
        case .unsupported: RPCError(code: .unimplemented, message: description)
        }
    }
}
