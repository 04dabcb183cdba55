/// What vf-serve's model layer reports. Only the RPC edge (`ServeError+RPC`) maps a case to a
/// gRPC status.
public enum ServeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A request's input is wrong: which item (input tensor, image index) and which field.
    case invalidArgument(item: String, field: String, message: String)
    /// No such model or version is served.
    case notFound(String)
    /// The model is served but not ready (loading, or the registry is unreachable).
    case unavailable(String)
    /// The model's queue is full, or a request asks for more than a model takes at once.
    case resourceExhausted(String)
    /// The request's deadline passed before its batch ran.
    case deadlineExceeded(String)
    /// The operation does not fit the model (e.g. Search on a classifier).
    case failedPrecondition(String)
    /// The model failed to run or load.
    case failed(String)
    /// A name is taken (a shared-memory region registered twice).
    case alreadyExists(String)
    /// A protocol feature this server has switched off or lacks (client shared memory without
    /// --allow-client-shm, CUDA shared memory).
    case unsupported(String)

    public var description: String {
        switch self {
        case .invalidArgument(let item, let field, let message): "\(item): \(field): \(message)"
        case .notFound(let m), .unavailable(let m), .resourceExhausted(let m), .deadlineExceeded(let m),
             .failedPrecondition(let m), .failed(let m), .alreadyExists(let m), .unsupported(let m): m
        }
    }
}
