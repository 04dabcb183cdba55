/// The name of a blob: the SHA-256 of its bytes, written "sha256:<64 lowercase hex digits>".
public struct BlobDigest: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let prefix = "sha256:"
    /// 64 lowercase hex digits.
    public let hex: String

    /// Parses "sha256:<hex>" (or bare hex); throws `invalidDigest` otherwise.
    public init(parsing text: String) throws(StoreError) {
        let hex = text.hasPrefix(Self.prefix) ? String(text.dropFirst(Self.prefix.count)) : text
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw .invalidDigest(text)
        }
        self.hex = hex
    }

    init(hex: String) { self.hex = hex }

    public var description: String { Self.prefix + hex }
    public static func < (a: BlobDigest, b: BlobDigest) -> Bool { a.hex < b.hex }
}
