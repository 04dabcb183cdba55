import FleetProtos
import FleetRPC

/// The RPC edge: statuses for ingestion errors. A rejected import answers INVALID_ARGUMENT
/// with every problem in the message and, for machines, the `ImportDatasetResponse` (its
/// `errors` list) serialized in the `vf-import-response-bin` trailing metadata.
extension IngestError: RPCErrorConvertible {
    public var rpcError: RPCError {
        switch self {
        case .invalidArgument(let item, let field, _):
            return .invalidArgument(item: item, field: field, message: description)
        case .rejected(let problems, let bytes):
            var metadata = Metadata()
            let response = Visionfleet_V1_ImportDatasetResponse.with {
                $0.errors = problems
                $0.rejectedItems = Int64(Set(problems.map(\.item)).count)
                $0.bytesReceived = bytes
            }
            if let data: [UInt8] = try? response.serializedBytes() { metadata.addBinary("vf-import-response-bin", data) }
            return RPCError(code: .invalidArgument, message: description, metadata: metadata)
        case .notFound: return RPCError(code: .notFound, message: description)
        case .alreadyExists: return RPCError(code: .alreadyExists, message: description)
        case .failedPrecondition: return RPCError(code: .failedPrecondition, message: description)
        case .resourceExhausted: return RPCError(code: .resourceExhausted, message: description)
        case .dataLoss: return RPCError(code: .dataLoss, message: description)
        case .cancelled: return RPCError(code: .cancelled, message: description)
        case .unavailable: return RPCError(code: .unavailable, message: description)
        case .storage: return RPCError(code: .internal, message: "storage failure", cause: self)
        }
    }
}
