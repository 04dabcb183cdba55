import VisionData

/// Rules for names and paths a client chooses.
enum DatasetNames {
    /// A letter or digit, then letters, digits, '.', '_' or '-'; at most 128.
    static func check(_ name: String, field: String) throws(IngestError) {
        let bytes = Array(name.utf8)
        func alnum(_ c: UInt8) -> Bool { (48...57).contains(c) || (65...90).contains(c) || (97...122).contains(c) }
        guard !bytes.isEmpty, bytes.count <= 128, alnum(bytes[0]),
              bytes.allSatisfy({ alnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }) else {
            throw .invalidArgument(item: name, field: field,
                                   message: "a dataset name is 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit")
        }
    }

    /// Uploaded paths stay inside the staging folder: relative, no '.', '..' or empty parts.
    static func checkPath(_ path: String, field: String) throws(IngestError) {
        let bytes = path.utf8
        var ok = !bytes.isEmpty && bytes.count <= 1024 && bytes.first != UInt8(ascii: "/") && !bytes.contains(0)
        ok = ok && !(path.hasSuffix("/") || DatasetImage.hasDotOrEmptySegments(path))
        guard ok else {
            throw .invalidArgument(item: path, field: field, message: "a file path is relative, without '.', '..' or empty parts")
        }
    }
}
