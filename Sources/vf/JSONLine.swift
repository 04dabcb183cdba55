import Foundation

/// `--json` output: one object on one line, keys sorted.
enum JSONLine {
    static func print(_ object: [String: Any]) throws {
        Swift.print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
    }
}
