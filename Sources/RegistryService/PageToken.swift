import Foundation

/// Page sizes and opaque page tokens (base64 of the last key of the previous page).
enum PageToken {
    static let defaultSize = 100
    static let maxSize = 1000

    static func size(_ requested: Int32) throws(RegistryError) -> Int {
        guard requested >= 0 else { throw .invalidArgument(item: "", field: "page.page_size", message: "must not be negative") }
        return requested == 0 ? defaultSize : min(Int(requested), maxSize)
    }

    static func encode(_ key: String) -> String { Data(key.utf8).base64EncodedString() }

    /// The key in a token; nil for the first page.
    static func decode(_ token: String) throws(RegistryError) -> String? {
        guard !token.isEmpty else { return nil }
        guard let data = Data(base64Encoded: token) else {
            throw .invalidArgument(item: token, field: "page.page_token", message: "not a token this registry issued")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
