import FleetRPC

/// The RPC edge: each registry error becomes its gRPC status; invalid arguments also carry the
/// item and field as trailing metadata (`vf-item`, `vf-field`).
extension RegistryError: RPCErrorConvertible {
    public var rpcError: RPCError {
        switch self {
        case .invalidArgument(let item, let field, _):
            return .invalidArgument(item: item, field: field, message: description)
        case .notFound: return RPCError(code: .notFound, message: description)
        case .alreadyExists: return RPCError(code: .alreadyExists, message: description)
        case .failedPrecondition: return RPCError(code: .failedPrecondition, message: description)
        case .aborted: return RPCError(code: .aborted, message: description)
        case .resourceExhausted: return RPCError(code: .resourceExhausted, message: description)
        case .dataLoss: return RPCError(code: .dataLoss, message: description)
        case .cancelled: return RPCError(code: .cancelled, message: description)
        case .storage: return RPCError(code: .internal, message: "storage failure", cause: self)
        }
    }
}
