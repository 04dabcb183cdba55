import Foundation

/// `--json` output: one object (or array) on one line, keys sorted.
enum JSONLine {
    static func print(_ object: Any) throws {
        Swift.print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
    }

    /// An `Encodable` value, its keys in snake_case.
    static func print(encoding value: some Encodable) throws {
        Swift.print(String(decoding: try encoder().encode(value), as: UTF8.self))
    }

    /// The encoder of `--json` output and of the JSON files `vf` writes (snake_case keys, sorted).
    static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        return encoder
    }
}
