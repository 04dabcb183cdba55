/// Failures of the storage layer. Services map them to their own errors or status codes.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A digest string that is not "sha256:" followed by 64 lowercase hex digits.
    case invalidDigest(String)
    /// No blob with this digest is stored.
    case blobNotFound(String)
    /// A stored blob's bytes no longer hash to its name: it was corrupted on disk.
    case integrity(digest: String, actual: String)
    /// The filesystem or the database refused an operation.
    case io(path: String, message: String)

    public var description: String {
        switch self {
        case .invalidDigest(let d): "'\(d)' is not a digest (expected sha256:<64 hex digits>)"
        case .blobNotFound(let d): "blob \(d) is not stored"
        case .integrity(let d, let actual): "blob \(d) is corrupted: its bytes hash to \(actual)"
        case .io(let path, let message): "\(path): \(message)"
        }
    }
}
