import FleetStore
import Foundation

/// A blob store flush running on its own thread: started when an import's stream ends, so the
/// disk writes the stream's blobs while the reader, the items and the statistics take the
/// CPU; `wait` returns (or throws its failure) before the version's metadata may commit.
final class BackgroundFlush: @unchecked Sendable {
    private let group = DispatchGroup()
    /// Written before `group` is left, read after `wait`.
    private var failure: StoreError?

    init(_ blobs: any BlobStore) {
        group.enter()
        DispatchQueue.global().async { [self] in
            defer { group.leave() }
            do { try blobs.flush() } catch let error as StoreError { failure = error } catch {
                failure = .io(path: "blobs", message: "flush: \(error)")
            }
        }
    }

    func wait() throws(IngestError) {
        group.wait()
        if let failure { throw IngestError.from(failure) }
    }
}
