/// What vf-train refuses, typed; the RPC edge maps each case to a gRPC status.
public enum TrainingError: Error, Sendable, CustomStringConvertible {
    case invalidArgument(item: String, field: String, message: String)
    case notFound(String)
    case failedPrecondition(String)
    case resourceExhausted(String)
    case unavailable(String)
    case storage(String)

    public var description: String {
        switch self {
        case .invalidArgument(let item, let field, let message): item.isEmpty ? "\(field): \(message)" : "\(item): \(field): \(message)"
        case .notFound(let m), .failedPrecondition(let m), .resourceExhausted(let m), .unavailable(let m), .storage(let m): m
        }
    }
}
