/// One item a reader left out: the item (file or id), the field at fault and why.
public struct DatasetProblem: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case missingImage, unreadableImage, boxOutOfBounds, zeroAreaBox, unknownCategory, duplicateId, malformed
    }

    public var kind: Kind
    public var item: String
    public var field: String
    public var reason: String

    public init(_ kind: Kind, item: String, field: String, reason: String) {
        self.kind = kind
        self.item = item
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(item): \(field): \(reason)" }
}
