/// Failures reading or validating a dataset; each names the item (file, image id) at fault.
public enum DatasetError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingFile(path: String)
    case corrupt(item: String, reason: String)
    case invalidValue(item: String, field: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let path): "\(path): file not found"
        case .corrupt(let item, let reason): "\(item): \(reason)"
        case .invalidValue(let item, let field, let reason): "\(item): \(field): \(reason)"
        }
    }
}
