/// The name of a blob: the SHA-256 of its bytes, written "sha256:<64 lowercase hex digits>".
public struct BlobDigest: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let prefix = "sha256:"
    /// 64 lowercase hex digits.
    public let hex: String

    /// Parses "sha256:<hex>" (or bare hex); throws `invalidDigest` otherwise.
    public init(parsing text: String) throws(StoreError) {
        let hex = text.hasPrefix(Self.prefix) ? String(text.dropFirst(Self.prefix.count)) : text
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ Self.hexValue($0) != nil }) else {
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
        var hex = hex
        _ = hex.withUTF8 { digits in out.withUnsafeMutableBytes { Self.write(hexDigits: digits, to: $0.baseAddress!) } }
        return out
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

    /// A lowercase hex digit's value.
    private static func hexValue(_ c: UInt8) -> UInt8? {
        let (value, valid) = hexDigit(c)
        return valid ? value : nil
    }

    public var description: String { Self.prefix + hex }
    public static func < (a: BlobDigest, b: BlobDigest) -> Bool { a.hex < b.hex }
}
