import FleetProtos
import FleetRPC
import FleetStore
import Foundation
import Logging

/// The registry's logic, independent of the RPC layer: metadata and blobs behind their store
/// protocols, the live event hub, upload commits and garbage collection.
public final class ModelRegistry: Sendable {
    public let metadata: any RegistryMetadataStore
    public let blobs: any BlobStore
    /// The largest upload accepted, all files together.
    public let maxUploadBytes: Int64
    let hub: EventHub
    let logger: Logger

    public init(metadata: any RegistryMetadataStore, blobs: any BlobStore, maxUploadBytes: Int64 = 4 << 30,
                logger: Logger = Logger(label: "visionfleet.registry")) throws {
        self.metadata = metadata
        self.blobs = blobs
        self.maxUploadBytes = maxUploadBytes
        self.logger = logger
        hub = EventHub(latest: try metadata.latestSequence())
    }

    /// The embedded default: SQLite at `<directory>/registry.sqlite`, blobs under `<directory>`.
    public convenience init(directory: URL, maxUploadBytes: Int64 = 4 << 30, logger: Logger = Logger(label: "visionfleet.registry")) throws {
        let metadata = try SQLiteRegistryStore(path: directory.appendingPathComponent("registry.sqlite").path)
        let blobs = try LocalBlobStore(root: directory)
        try self.init(metadata: metadata, blobs: blobs, maxUploadBytes: maxUploadBytes, logger: logger)
    }

    /// Tells watchers about events just committed.
    func publish(_ events: [Visionfleet_V1_RegistryEvent]) {
        if let last = events.map(\.sequence).max() { hub.published(upTo: last) }
    }

    func makeUpload() -> UploadSession { UploadSession(blobs: blobs, maxBytes: maxUploadBytes) }

    /// Commits a fully received upload: blobs first (pinned against garbage collection), then
    /// the version in one metadata transaction.
    func commit(_ session: UploadSession, cancelled: Bool, actor: String) throws -> Visionfleet_V1_ModelVersion {
        let (draft, writers) = try session.finishReceiving(cancelled: cancelled)
        var pinned: [BlobDigest] = []
        defer { blobs.unpin(pinned) }
        do {
            for writer in writers { pinned.append(try blobs.commit(writer).digest) }
        } catch let error as StoreError {
            throw RegistryError.from(error)
        }
        let (version, events) = try metadata.commitVersion(draft, actor: actor, now: Date())
        session.markCommitted()
        publish(events)
        logger.info("committed \(version.model) version \(version.version) (\(version.totalSize) bytes, \(version.files.count) files)")
        return version
    }

    /// Removes blobs that no version references (pinned ones, of uploads committing now, kept).
    public func collectGarbage(dryRun: Bool) throws -> GarbageReport {
        do {
            return try blobs.collectGarbage(dryRun: dryRun) { try metadata.referencedDigests() }
        } catch let error as StoreError {
            throw RegistryError.from(error)
        }
    }

    /// Ends the event streams at once (graceful shutdown), so watchers do not hold the server.
    public func close() { hub.close() }
}
