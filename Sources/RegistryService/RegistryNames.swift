/// Rules for the names a client chooses.
enum RegistryNames {
    /// The alias a `ModelRef` may use for the highest version when no real alias has that name.
    static let latest = "latest"

    /// Model names: a letter or digit, then letters, digits, '.', '_' or '-'; at most 128.
    static func checkModel(_ name: String, field: String = "name") throws(RegistryError) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 128, isAlnum(bytes[0]),
              bytes.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
        else {
            throw .invalidArgument(item: name, field: field,
                                   message: "a model name is 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit")
        }
    }

    /// Alias names: a letter, then letters, digits, '_' or '-'; at most 64 ("production").
    static func checkAlias(_ alias: String, field: String = "alias") throws(RegistryError) {
        let bytes = Array(alias.utf8)
        guard !bytes.isEmpty, bytes.count <= 64, isAlpha(bytes[0]),
              bytes.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
        else {
            throw .invalidArgument(item: alias, field: field,
                                   message: "an alias is 1–64 letters, digits, '_' or '-', starting with a letter")
        }
        guard alias != latest else {
            throw .invalidArgument(item: alias, field: field, message: "'latest' is reserved: it always names the highest version")
        }
    }

    /// File paths inside a package: relative, no '..' or empty parts, at most 255 bytes.
    static func checkFilePath(_ path: String, field: String) throws(RegistryError) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, path.utf8.count <= 255, !path.hasPrefix("/"),
              parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }), !path.contains("\0")
        else {
            throw .invalidArgument(item: path, field: field, message: "a package file path is relative, without '.', '..' or empty parts")
        }
    }

    private static func isAlpha(_ c: UInt8) -> Bool { (65...90).contains(c) || (97...122).contains(c) }
    private static func isAlnum(_ c: UInt8) -> Bool { isAlpha(c) || (48...57).contains(c) }
}
