import FleetStore

/// What the registry refuses, typed; the RPC edge maps each case to a gRPC status.
public enum RegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A bad request: `item` is the file, model or alias concerned, `field` the request field.
    case invalidArgument(item: String, field: String, message: String)
    case notFound(String)
    case alreadyExists(String)
    case failedPrecondition(String)
    /// A compare-and-set lost its race.
    case aborted(String)
    case resourceExhausted(String)
    /// Stored bytes no longer match their digest, or a referenced blob is gone.
    case dataLoss(String)
    case cancelled(String)
    case storage(String)

    public var description: String {
        switch self {
        case .invalidArgument(let item, let field, let message):
            item.isEmpty ? "\(field): \(message)" : "\(item): \(field): \(message)"
        case .notFound(let m), .alreadyExists(let m), .failedPrecondition(let m), .aborted(let m),
             .resourceExhausted(let m), .dataLoss(let m), .cancelled(let m), .storage(let m):
            m
        }
    }

    /// A storage-layer failure, as the registry reports it.
    static func from(_ error: StoreError) -> RegistryError {
        switch error {
        case .integrity(let digest, let actual): .dataLoss("blob \(digest) is corrupted on disk (its bytes hash to \(actual))")
        case .blobNotFound(let digest): .dataLoss("blob \(digest) is missing from the store")
        case .invalidDigest(let text): .invalidArgument(item: "", field: "digest", message: "'\(text)' is not sha256:<64 hex digits>")
        case .io(let path, let message): .storage("\(path): \(message)")
        }
    }
}
