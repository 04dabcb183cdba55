import FleetStore
import Foundation

/// The registry's page sizes and tokens: `PageCursor` with the registry's errors.
enum PageToken {
    static func size(_ requested: Int32) throws(RegistryError) -> Int {
        guard let size = PageCursor.size(requested) else {
            throw .invalidArgument(item: "", field: "page.page_size", message: "must not be negative")
        }
        return size
    }

    static func encode(_ key: String) -> String { PageCursor.encode(key) }

    /// The key in a token; nil for the first page.
    static func decode(_ token: String) throws(RegistryError) -> String? {
        guard let key = PageCursor.decode(token) else {
            throw .invalidArgument(item: token, field: "page.page_token", message: "not a token this registry issued")
        }
        return key
    }
}
