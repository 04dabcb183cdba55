import FleetProtos

/// A version's items in their order, with the catalog's pages of them made ahead of the
/// commit (serializing 70,000 records is most of a commit's work, and needs no version number).
public struct PreparedItems: Sendable {
    public let items: [Visionfleet_V1_DatasetItem]
    let pages: [ItemPages.Page]

    public init(_ items: [Visionfleet_V1_DatasetItem]) throws {
        self.items = items
        pages = try ItemPages.prepare(items)
    }

    public var count: Int { items.count }
}
