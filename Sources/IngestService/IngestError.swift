import FleetProtos
import FleetStore

/// What vf-ingest refuses, typed; the RPC edge maps each case to a gRPC status.
public enum IngestError: Error, Sendable, CustomStringConvertible {
    case invalidArgument(item: String, field: String, message: String)
    /// A strict import with bad items: every problem, nothing changed.
    case rejected(problems: [Visionfleet_V1_ItemError], bytesReceived: Int64)
    case notFound(String)
    case alreadyExists(String)
    case failedPrecondition(String)
    case resourceExhausted(String)
    case dataLoss(String)
    case cancelled(String)
    /// Another service this one depends on (vf-registry) did not answer.
    case unavailable(String)
    case storage(String)

    public var description: String {
        switch self {
        case .invalidArgument(let item, let field, let message): item.isEmpty ? "\(field): \(message)" : "\(item): \(field): \(message)"
        case .rejected(let problems, _):
            "import rejected: \(problems.count) bad item\(problems.count == 1 ? "" : "s") (nothing was stored):\n"
                + problems.map { "\($0.item): \($0.field): \($0.message)" }.joined(separator: "\n")
        case .notFound(let m), .alreadyExists(let m), .failedPrecondition(let m), .resourceExhausted(let m), .dataLoss(let m),
             .cancelled(let m), .unavailable(let m), .storage(let m):
            m
        }
    }

    static func from(_ error: StoreError) -> IngestError {
        switch error {
        case .integrity(let digest, let actual): .dataLoss("blob \(digest) is corrupted on disk (its bytes hash to \(actual))")
        case .blobNotFound(let digest): .notFound("blob \(digest) is not stored")
        case .invalidDigest(let text): .invalidArgument(item: text, field: "digest", message: "not sha256:<64 hex digits>")
        case .io(let path, let message): .storage("\(path): \(message)")
        }
    }
}
