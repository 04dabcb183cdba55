import FleetProtos
import FleetStore
import Foundation

/// vf-ingest's metadata: datasets, their immutable versions and each version's items in a
/// stable order. One transaction per method; the SQLite catalog is the embedded default.
public protocol DatasetCatalog: Sendable {
    func createDataset(_ request: Visionfleet_V1_CreateDatasetRequest, actor: String, now: Date) throws -> Visionfleet_V1_Dataset
    func dataset(named name: String) throws -> Visionfleet_V1_Dataset
    func listDatasets(task: Visionfleet_V1_TaskType, after: String?, limit: Int) throws -> (datasets: [Visionfleet_V1_Dataset], total: Int)
    func deleteDataset(named name: String) throws

    /// Commits a version and its items in one transaction (creating the dataset with
    /// `createTask` when it does not exist). When the latest version has the same
    /// `manifest_digest`, nothing is written and that version is returned with `reused`.
    func commitVersion(_ version: Visionfleet_V1_DatasetVersion, items: PreparedItems, createTask: Visionfleet_V1_TaskType,
                       description: String, actor: String, now: Date) throws -> (version: Visionfleet_V1_DatasetVersion, reused: Bool)
    /// Version 0 = the latest.
    func version(_ ref: Visionfleet_V1_DatasetRef) throws -> Visionfleet_V1_DatasetVersion
    func listVersions(dataset: String, after: Int32?, limit: Int) throws -> (versions: [Visionfleet_V1_DatasetVersion], total: Int)
    /// Items of a version (of one split unless UNSPECIFIED) from position `offset` in that
    /// order, at most `limit`, with their positions.
    func items(_ ref: Visionfleet_V1_DatasetRef, split: Visionfleet_V1_Split, offset: Int64, limit: Int) throws
        -> [(index: Int64, item: Visionfleet_V1_DatasetItem)]

    func referencedDigests() throws -> Set<BlobDigest>

    /// Housekeeping after a large commit (the log moved into the database file), for a
    /// background queue: what is committed is durable without it.
    func checkpoint() throws
}

extension DatasetCatalog {
    /// `commitVersion` with the items' pages made here.
    public func commitVersion(_ version: Visionfleet_V1_DatasetVersion, items: [Visionfleet_V1_DatasetItem], createTask: Visionfleet_V1_TaskType,
                              description: String, actor: String, now: Date) throws -> (version: Visionfleet_V1_DatasetVersion, reused: Bool) {
        try commitVersion(version, items: try PreparedItems(items), createTask: createTask, description: description, actor: actor, now: now)
    }
}
