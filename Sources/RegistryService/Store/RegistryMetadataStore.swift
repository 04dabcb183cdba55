import FleetProtos
import FleetStore
import Foundation

/// The registry's metadata: models, versions, aliases with history, and the event log. Every
/// method is one transaction. The SQLite store is the embedded default; a PostgreSQL store can
/// implement the same protocol. Mutations return the events they appended, in order.
public protocol RegistryMetadataStore: Sendable {
    func createModel(_ request: Visionfleet_V1_CreateModelRequest, actor: String, now: Date) throws -> (Visionfleet_V1_Model, [Visionfleet_V1_RegistryEvent])
    func model(named name: String) throws -> Visionfleet_V1_Model
    /// Models after `after` (by name), at most `limit`, and how many match in all.
    func listModels(task: Visionfleet_V1_TaskType, after: String?, limit: Int) throws -> (models: [Visionfleet_V1_Model], total: Int)
    func updateModel(_ request: Visionfleet_V1_UpdateModelRequest, now: Date) throws -> Visionfleet_V1_Model
    /// Refused while an alias points at one of its versions.
    func deleteModel(named name: String, now: Date) throws -> [Visionfleet_V1_RegistryEvent]

    /// Commits a version: creates the model when `createTask` is set and it does not exist,
    /// takes the next version number, stores the files, and moves `aliases` to it.
    func commitVersion(_ draft: VersionDraft, actor: String, now: Date) throws -> (Visionfleet_V1_ModelVersion, [Visionfleet_V1_RegistryEvent])
    func version(_ ref: Visionfleet_V1_ModelRef) throws -> Visionfleet_V1_ModelVersion
    func listVersions(model: String, after: Int32?, limit: Int) throws -> (versions: [Visionfleet_V1_ModelVersion], total: Int)
    func updateVersion(_ request: Visionfleet_V1_UpdateModelVersionRequest) throws -> Visionfleet_V1_ModelVersion
    /// Refused while an alias points at it.
    func deleteVersion(_ ref: Visionfleet_V1_ModelRef, now: Date) throws -> [Visionfleet_V1_RegistryEvent]

    func setAlias(_ request: Visionfleet_V1_SetAliasRequest, actor: String, now: Date) throws -> (Visionfleet_V1_AliasChange, [Visionfleet_V1_RegistryEvent])
    func deleteAlias(model: String, alias: String, actor: String, now: Date) throws -> (Visionfleet_V1_AliasChange, [Visionfleet_V1_RegistryEvent])
    /// Oldest first.
    func aliasHistory(model: String, alias: String?) throws -> [Visionfleet_V1_AliasChange]

    /// Events with a sequence above `after` (of `model` when set), oldest first, at most `limit`.
    func events(after: Int64, model: String?, limit: Int) throws -> [Visionfleet_V1_RegistryEvent]
    func latestSequence() throws -> Int64

    /// Every blob some version references.
    func referencedDigests() throws -> Set<BlobDigest>
}

/// A version ready to commit: its files are stored blobs.
public struct VersionDraft: Sendable {
    public var model: String
    /// Set when the upload may create the model.
    public var createTask: Visionfleet_V1_TaskType?
    public var task: Visionfleet_V1_TaskType
    public var manifestJSON: String
    public var files: [Visionfleet_V1_ModelFile]
    public var metrics: [Visionfleet_V1_Metric]
    public var lineage: Visionfleet_V1_Lineage?
    public var tags: [String: String]
    public var description: String
    public var aliases: [String]
}
