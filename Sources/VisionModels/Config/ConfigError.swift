/// A config problem, named by its key path: `model.backbone.depth: expected one of 20, 32, 56, got 21`.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public let path: String
    public let message: String

    public init(_ path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}
