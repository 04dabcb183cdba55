/// The name of a blob: the SHA-256 of its bytes, written "sha256:<64 lowercase hex digits>".
public struct BlobDigest: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let prefix = "sha256:"
    /// The 32 bytes as four big-endian words: hashed, compared and copied without a heap
    /// string (an import holds and looks up one per image, several times over), and ordered
    /// as the hex text is.
    private let words: (UInt64, UInt64, UInt64, UInt64)

    /// Parses "sha256:<hex>" (or bare hex); throws `invalidDigest` otherwise.
    public init(parsing text: String) throws(StoreError) {
        var raw = Self.zero
        guard withUnsafeMutableBytes(of: &raw, { Self.writeBytes(of: text, to: $0.baseAddress!) }) else { throw .invalidDigest(text) }
        self = withUnsafeBytes(of: raw) { BlobDigest(raw: $0) }
    }

    /// The digest of 32 raw bytes (a shorter sequence is zero-padded, a longer one cut).
    public init<Bytes: Sequence<UInt8>>(bytes: Bytes) {
        var raw = Self.zero
        withUnsafeMutableBytes(of: &raw) { out in
            for (k, byte) in bytes.prefix(32).enumerated() { out[k] = byte }
        }
        self = withUnsafeBytes(of: raw) { BlobDigest(raw: $0) }
    }

    /// The digest of the 32 bytes at `raw`.
    public init(raw: UnsafeRawBufferPointer) {
        precondition(raw.count == 32, "a SHA-256 digest is 32 bytes, got \(raw.count)")
        func word(_ k: Int) -> UInt64 { UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self)) }
        words = (word(0), word(1), word(2), word(3))
    }

    /// 32 bytes of stack: the digest's bytes in order once filled.
    private static let zero = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))

    /// `body` over the 32 raw bytes, without a heap copy.
    private func withRawBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeBytes(of: (words.0.bigEndian, words.1.bigEndian, words.2.bigEndian, words.3.bigEndian), body)
    }

    /// The 32 raw bytes.
    public var bytes: [UInt8] { withRawBytes { Array($0) } }

    /// Writes the 32 raw bytes to `out`.
    public func write(to out: UnsafeMutableRawPointer) {
        withRawBytes { out.copyMemory(from: $0.baseAddress!, byteCount: 32) }
    }

    /// 64 lowercase hex digits.
    public var hex: String {
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 64) { out in
            digits.withUTF8Buffer { table in
                withRawBytes { raw in
                    for (k, byte) in raw.enumerated() {
                        out[2 * k] = table[Int(byte >> 4)]
                        out[2 * k + 1] = table[Int(byte & 15)]
                    }
                }
            }
            return 64
        }
    }

    public static func == (a: BlobDigest, b: BlobDigest) -> Bool { a.words == b.words }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    /// Writes the 32 raw bytes of a digest's text ("sha256:<hex>" or bare hex, as
    /// `init(parsing:)` reads it) without allocating; false when the text is not a digest.
    public static func writeBytes(of text: String, to out: UnsafeMutableRawPointer) -> Bool {
        var text = text
        return text.withUTF8 { utf8 in
            let prefix = Self.prefix.utf8.count
            let digits = utf8.starts(with: Self.prefix.utf8) ? UnsafeBufferPointer(rebasing: utf8[prefix...]) : utf8
            return write(hexDigits: digits, to: out)
        }
    }

    private static func write(hexDigits digits: UnsafeBufferPointer<UInt8>, to out: UnsafeMutableRawPointer) -> Bool {
        guard digits.count == 64 else { return false }
        // Without a branch per digit (this runs for every item a version stores): every
        // digit decoded, one check at the end.
        var valid = true
        for k in 0..<32 {
            let (high, highValid) = hexDigit(digits[2 * k]), (low, lowValid) = hexDigit(digits[2 * k + 1])
            valid = valid && highValid && lowValid
            out.storeBytes(of: high << 4 | low, toByteOffset: k, as: UInt8.self)
        }
        return valid
    }

    /// A digit's value, and whether it is a lowercase hex digit (the value is junk otherwise).
    @inline(__always)
    private static func hexDigit(_ c: UInt8) -> (UInt8, Bool) {
        let decimal = c &- 48 < 10
        return (decimal ? c &- 48 : (c &- 87) & 15, decimal || c &- 97 < 6)
    }

    public var description: String { Self.prefix + hex }
    public static func < (a: BlobDigest, b: BlobDigest) -> Bool { a.words < b.words }
}
