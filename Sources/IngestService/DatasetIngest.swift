import FleetProtos
import FleetRPC
import FleetStore
import Foundation
import Logging

/// vf-ingest's logic, independent of the RPC layer: the catalog and the blob store behind their
/// protocols, imports from a staged upload to a committed version, and garbage collection.
public final class DatasetIngest: Sendable {
    public let catalog: any DatasetCatalog
    public let blobs: any BlobStore
    let stagingRoot: URL
    /// The largest import accepted, all files together.
    public let maxImportBytes: Int64
    let logger: Logger
    /// The registered model versions whose lineage names a version of a dataset (asked of
    /// vf-registry when one is configured): a dataset they name is not deleted.
    public typealias LineageLookup = @Sendable (_ dataset: String) async throws -> [String]
    let lineage: LineageLookup?
    /// Serial: what a committed import releases after its reply (`CommittedImport`).
    let afterReply = DispatchQueue(label: "visionfleet.ingest.after-reply", qos: .utility)

    public init(catalog: any DatasetCatalog, blobs: any BlobStore, stagingRoot: URL, maxImportBytes: Int64 = 64 << 30,
                lineage: LineageLookup? = nil, logger: Logger = Logger(label: "visionfleet.ingest")) throws {
        self.catalog = catalog
        self.lineage = lineage
        self.blobs = blobs
        self.stagingRoot = stagingRoot
        self.maxImportBytes = maxImportBytes
        self.logger = logger
        // Staging folders of imports a previous process did not finish.
        try? FileManager.default.removeItem(at: stagingRoot)
        try FileManager.default.createDirectory(at: stagingRoot, withIntermediateDirectories: true)
    }

    /// The embedded default: SQLite at `<directory>/ingest.sqlite`, blobs and staging under `<directory>`.
    public convenience init(directory: URL, maxImportBytes: Int64 = 64 << 30, lineage: LineageLookup? = nil,
                            logger: Logger = Logger(label: "visionfleet.ingest")) throws {
        try self.init(catalog: try SQLiteDatasetCatalog(path: directory.appendingPathComponent("ingest.sqlite").path),
                      blobs: try LocalBlobStore(root: directory), stagingRoot: directory.appendingPathComponent("staging"),
                      maxImportBytes: maxImportBytes, lineage: lineage, logger: logger)
    }

    /// Deletes a dataset unless a registered model was trained on one of its versions.
    func deleteDataset(named name: String) async throws {
        _ = try catalog.dataset(named: name)
        if let lineage {
            let users: [String]
            do { users = try await lineage(name) } catch {
                throw IngestError.unavailable("cannot check which models were trained on \(name) (vf-registry: \(error)); nothing was deleted")
            }
            if !users.isEmpty {
                throw IngestError.failedPrecondition(
                    "dataset \(name) is the lineage of \(users.count) registered model version\(users.count == 1 ? "" : "s") (\(users.prefix(5).joined(separator: ", "))\(users.count > 5 ? ", …" : "")); delete those first")
            }
        }
        try catalog.deleteDataset(named: name)
        logger.info("deleted dataset \(name)")
    }

    /// Renders the synthetic shapes dataset and commits it as a version.
    func generateSynthetic(_ request: Visionfleet_V1_GenerateSyntheticRequest, actor: String) throws -> Visionfleet_V1_ImportDatasetResponse {
        if let existing = try? catalog.dataset(named: request.dataset), existing.task != .detection {
            throw IngestError.invalidArgument(item: request.dataset, field: "dataset", message: "is a \(existing.task) dataset; shapes are detection data")
        }
        let built = try SyntheticVersion(request: request, blobs: blobs).build()
        defer { blobs.unpin(built.pinned) }
        let (version, reused) = try catalog.commitVersion(built.version, items: built.items, createTask: .detection,
                                                          description: request.description_p, actor: actor, now: Date())
        logger.info("\(reused ? "re-generated" : "generated") \(version.dataset)@\(version.version): \(version.imageCount) synthetic images")
        return .with {
            $0.version = version
            $0.acceptedItems = Int64(built.items.count)
            $0.blobsDeduplicated = Int64(built.deduplicated)
            $0.reusedVersion = reused
        }
    }

    func makeImport() -> ImportSession { ImportSession(stagingRoot: stagingRoot, blobs: blobs, maxBytes: maxImportBytes) }

    /// Validates a fully received import and commits its version (or returns the identical latest one).
    func commit(_ session: ImportSession, cancelled: Bool, actor: String) throws -> Visionfleet_V1_ImportDatasetResponse {
        let clock = ContinuousClock()
        var mark = clock.now
        var phases: [String] = []
        func lap(_ name: String) {
            let now = clock.now
            phases.append("\(name) \((now - mark).formatted(.units(allowed: [.milliseconds])))")
            mark = now
        }
        phases.append("receive \((mark - session.started).formatted(.units(allowed: [.milliseconds])))")
        try session.finishReceiving(cancelled: cancelled)
        lap("last batch")
        let header = session.header
        var task = header.task
        if let existing = try? catalog.dataset(named: header.dataset) {
            if task != .unspecified, task != existing.task {
                throw IngestError.invalidArgument(item: header.dataset, field: "header.task",
                                                  message: "dataset '\(header.dataset)' is \(existing.task), the import says \(task)")
            }
            task = existing.task
        } else if task == .unspecified {
            task = ImportFormat.hasBoxes(header.format) ? .detection : .classification
        }
        guard task == .classification || task == .detection else {
            throw IngestError.invalidArgument(item: header.dataset, field: "header.task", message: "classification or detection (retrieval trains on classification data)")
        }
        let built = try VersionBuilder(session: session, task: task, blobs: blobs).build(lap: lap)
        var handedOver = false
        defer { if !handedOver { blobs.unpin(built.pinned) } }
        // The stream's blobs were flushed while the version was built; durable before it commits.
        try session.awaitDurable()
        lap("flush")
        let (version, reused) = try catalog.commitVersion(built.version, items: built.items, createTask: task,
                                                          description: header.description_p, actor: actor, now: Date())
        lap("catalog")
        session.markCommitted()
        lap("cleanup")
        logger.info("import phases: \(phases.joined(separator: ", "))")
        logger.info("\(reused ? "re-imported" : "committed") \(version.dataset)@\(version.version): \(version.imageCount) images, \(built.problems.count) left out")
        // Pins and the import's tables (70,000 items: ~100 ms of unpinning and freeing) are
        // released after the reply, on the core the finished client left idle, and the store's
        // log is checkpointed there (the blobs are durable already).
        let leftovers = CommittedImport(session: session, built: built, blobs: blobs)
        handedOver = true
        afterReply.async { [blobs, catalog, logger] in
            leftovers.release()
            do {
                try blobs.checkpoint()
                try catalog.checkpoint()
            } catch {
                logger.warning("checkpoint after an import: \(error)")
            }
        }
        return .with {
            $0.version = version
            $0.acceptedItems = Int64(built.items.count)
            $0.rejectedItems = Int64(Set(built.problems.map(\.item)).count)
            $0.errors = built.problems
            $0.bytesReceived = session.bytesReceived
            $0.blobsDeduplicated = Int64(built.deduplicated)
            $0.reusedVersion = reused
        }
    }

    public func collectGarbage(dryRun: Bool = false) throws -> GarbageReport {
        afterReply.sync {}  // committed imports' pins released first
        do { return try blobs.collectGarbage(dryRun: dryRun) { try catalog.referencedDigests() } } catch let error as StoreError {
            throw IngestError.from(error)
        }
    }
}
