import Foundation

/// POSIX tar (ustar, with a PAX `path` record for names that do not fit): the headers and
/// padding a streaming writer puts around each file's bytes. Sizes up to 8 GiB per file.
public enum TarHeader {
    public static let blockSize = 512

    /// The header block(s) for a regular file of `size` bytes at `path` (relative, `/`-separated).
    public static func file(path: String, size: Int64, modified: Date = Date(timeIntervalSince1970: 0)) throws(ArchiveError) -> Data {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
            throw .invalidPath(path)
        }
        guard size >= 0, size < 0o77777777777 else { throw .tooLarge(path: path, size: size) }
        let mtime = Int64(max(0, modified.timeIntervalSince1970))
        if let (prefix, name) = split(path) {
            return block(name: name, prefix: prefix, size: size, type: "0", mtime: mtime)
        }
        // A PAX extended header carries the long path; the ustar name is a truncated stand-in.
        var record = " path=\(path)\n"
        var length = record.utf8.count
        while "\(length)\(record)".utf8.count != length { length = "\(length)\(record)".utf8.count }
        record = "\(length)\(record)"
        var out = block(name: "PaxHeaders/" + String(path.suffix(80)), prefix: "", size: Int64(record.utf8.count), type: "x", mtime: mtime)
        out.append(Data(record.utf8))
        out.append(padding(after: Int64(record.utf8.count)))
        out.append(block(name: String(decoding: Array(path.utf8.suffix(99)), as: UTF8.self), prefix: "", size: size, type: "0", mtime: mtime))
        return out
    }

    /// Zero bytes that round `size` up to whole blocks.
    public static func padding(after size: Int64) -> Data {
        let rest = Int(size % Int64(blockSize))
        return Data(count: rest == 0 ? 0 : blockSize - rest)
    }

    /// The end of an archive: two zero blocks.
    public static var end: Data { Data(count: 2 * blockSize) }

    /// (prefix, name) when the path fits ustar's 155 + 100 bytes.
    static func split(_ path: String) -> (String, String)? {
        let bytes = Array(path.utf8)
        if bytes.count <= 100 { return ("", path) }
        guard bytes.count <= 256 else { return nil }
        // Split at a slash so the prefix ≤ 155 bytes and the name ≤ 100.
        for i in stride(from: min(155, bytes.count - 1), through: 1, by: -1) where bytes[i] == UInt8(ascii: "/") {
            if bytes.count - i - 1 <= 100 {
                return (String(decoding: bytes[..<i], as: UTF8.self), String(decoding: bytes[(i + 1)...], as: UTF8.self))
            }
        }
        return nil
    }

    static func block(name: String, prefix: String, size: Int64, type: Character, mtime: Int64) -> Data {
        var b = [UInt8](repeating: 0, count: blockSize)
        func put(_ text: String, at offset: Int, width: Int) {
            for (i, byte) in text.utf8.prefix(width).enumerated() { b[offset + i] = byte }
        }
        func octal(_ value: Int64, at offset: Int, width: Int) {
            put(String(repeating: "0", count: max(0, width - 1 - String(value, radix: 8).count)) + String(value, radix: 8), at: offset, width: width - 1)
        }
        put(name, at: 0, width: 100)
        octal(0o644, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(size, at: 124, width: 12)
        octal(mtime, at: 136, width: 12)
        put(String(type), at: 156, width: 1)
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        put(prefix, at: 345, width: 155)
        for i in 148..<156 { b[i] = UInt8(ascii: " ") }
        let sum = b.reduce(0) { $0 + Int($1) }
        let text = String(sum, radix: 8)
        put(String(repeating: "0", count: max(0, 6 - text.count)) + text, at: 148, width: 6)
        b[154] = 0
        b[155] = UInt8(ascii: " ")
        return Data(b)
    }
}

/// Why an archive could not be written or read.
public enum ArchiveError: Error, Equatable, CustomStringConvertible {
    case invalidPath(String)
    case tooLarge(path: String, size: Int64)
    case corrupt(String)
    case io(String)

    public var description: String {
        switch self {
        case .invalidPath(let p): "archive entry '\(p)': not a relative path inside the archive"
        case .tooLarge(let p, let s): "archive entry '\(p)': \(s) bytes is over tar's 8 GiB per file"
        case .corrupt(let reason): "not a valid tar archive: \(reason)"
        case .io(let reason): reason
        }
    }
}
