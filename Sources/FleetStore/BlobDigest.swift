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

    /// The digest of 32 raw bytes.
    public init<Bytes: Sequence<UInt8>>(bytes: Bytes) {
        let digits = Array("0123456789abcdef".utf8)
        var hex = [UInt8]()
        hex.reserveCapacity(64)
        for byte in bytes {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 15)])
        }
        self.hex = String(decoding: hex, as: UTF8.self)
    }

    /// The 32 raw bytes.
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        for (i, c) in hex.utf8.enumerated() { out[i >> 1] |= (c <= 57 ? c &- 48 : c &- 87) << (i & 1 == 0 ? 4 : 0) }
        return out
    }

    public var description: String { Self.prefix + hex }
    public static func < (a: BlobDigest, b: BlobDigest) -> Bool { a.hex < b.hex }
}
