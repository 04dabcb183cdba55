import Foundation

/// Page sizes and opaque page tokens (base64 of the last key of the previous page), the same
/// for every service's List RPCs.
public enum PageCursor {
    public static let defaultSize = 100
    public static let maxSize = 1000

    /// The page size to use; nil when the request's is negative.
    public static func size(_ requested: Int32) -> Int? {
        guard requested >= 0 else { return nil }
        return requested == 0 ? defaultSize : min(Int(requested), maxSize)
    }

    public static func encode(_ key: String) -> String { Data(key.utf8).base64EncodedString() }

    /// The key in a token: `.some(nil)` for the first page, nil when the token is not one of ours.
    public static func decode(_ token: String) -> String?? {
        guard !token.isEmpty else { return .some(nil) }
        guard let data = Data(base64Encoded: token) else { return nil }
        return .some(String(decoding: data, as: UTF8.self))
    }
}
