import FleetStore
import Foundation

/// A committed import's leftovers — the session's tables, the built items, the blobs' pins —
/// handed from the reply's path to `DatasetIngest.afterReply`, which releases them. The reply
/// path touches neither the session nor the items after the handover.
final class CommittedImport: @unchecked Sendable {
    private var session: ImportSession?
    private var built: VersionBuilder.Built?
    private let blobs: any BlobStore

    init(session: ImportSession, built: VersionBuilder.Built, blobs: any BlobStore) {
        self.session = session
        self.built = built
        self.blobs = blobs
    }

    func release() {
        session?.releaseAfterCommit()
        session = nil
        if let built { blobs.unpin(built.pinned) }
        built = nil
    }
}
