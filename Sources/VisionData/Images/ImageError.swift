/// Why an image could not be read or written; each names the file (or item) at fault.
public enum ImageError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingFile(file: String)
    case unsupportedFormat(file: String, reason: String)
    case corrupt(file: String, reason: String)
    case truncated(file: String, reason: String)
    case zeroSize(file: String)
    case tooLarge(file: String)
    case encodeFailed(file: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let file): "\(file): file not found"
        case .unsupportedFormat(let file, let reason): "\(file): unsupported image format (\(reason))"
        case .corrupt(let file, let reason): "\(file): corrupt image (\(reason))"
        case .truncated(let file, let reason): "\(file): truncated image (\(reason))"
        case .zeroSize(let file): "\(file): image has zero width or height"
        case .tooLarge(let file): "\(file): image larger than 268,435,456 pixels"
        case .encodeFailed(let file, let reason): "\(file): cannot encode (\(reason))"
        }
    }

    /// The file or item this error names.
    public var file: String {
        switch self {
        case .missingFile(let f), .unsupportedFormat(let f, _), .corrupt(let f, _), .truncated(let f, _),
             .zeroSize(let f), .tooLarge(let f), .encodeFailed(let f, _): f
        }
    }
}
