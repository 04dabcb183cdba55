/// gRPC metadata: an ordered multimap of lower-case keys to values. Keys ending in `-bin`
/// carry raw bytes; all other values are ASCII text.
public struct Metadata: Sendable, Hashable, ExpressibleByDictionaryLiteral, Sequence {
    public struct Entry: Sendable, Hashable {
        public let key: String
        public let value: [UInt8]

        public var text: String { String(decoding: value, as: UTF8.self) }
        public var isBinary: Bool { key.hasSuffix("-bin") }
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    public init(dictionaryLiteral elements: (String, String)...) {
        for (key, value) in elements { add(key, value) }
    }

    public mutating func add(_ key: String, _ value: String) {
        entries.append(Entry(key: key.lowercased(), value: Array(value.utf8)))
    }

    public mutating func addBinary(_ key: String, _ value: [UInt8]) {
        precondition(key.hasSuffix("-bin"), "binary metadata keys end in -bin")
        entries.append(Entry(key: key.lowercased(), value: value))
    }

    /// The first text value for `key`.
    public subscript(key: String) -> String? {
        let key = key.lowercased()
        return entries.first { $0.key == key }?.text
    }

    public func values(for key: String) -> [String] {
        let key = key.lowercased()
        return entries.filter { $0.key == key }.map(\.text)
    }

    public func binaryValues(for key: String) -> [[UInt8]] {
        let key = key.lowercased()
        return entries.filter { $0.key == key }.map(\.value)
    }

    /// Appends an entry as received from the wire (key already lower-case).
    mutating func appendRaw(key: String, value: [UInt8]) {
        entries.append(Entry(key: key, value: value))
    }

    public var isEmpty: Bool { entries.isEmpty }
    public func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }
}
