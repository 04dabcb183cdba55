import FleetStore
import Foundation
import VisionData

/// A whole image that arrived in one chunk.
struct SmallImage: Sendable {
    var path: String
    var data: Data
    /// The digest the client sent with it ("" when none).
    var announcedDigest: String
}

/// One batch of small images checked and stored off the stream's thread: every image hashed
/// and fully decoded on all cores, then the ones that decode stored (flushed with the
/// import's other blobs when the stream ends).
final class SmallImageJob: @unchecked Sendable {
    struct Result {
        var digests: [BlobDigest] = []
        var decoded: [DecodedImage] = []
        /// The stored blob of each image that decodes (nil for one that does not).
        var committed: [CommittedBlob?] = []
        var error: (any Error)?
    }

    private let group = DispatchGroup()
    /// Written by the job's stages before `group` is left, read after `wait`.
    private var result = Result()

    /// Two stages: checked on `checking` (serial: a session's batches one after another, each
    /// on every core), then stored on `storing` (serial), so one batch is being stored while
    /// the next is decoded.
    init(_ batch: [SmallImage], blobs: any BlobStore, checking: DispatchQueue, storing: DispatchQueue) {
        group.enter()
        checking.async { [self] in
            result = Self.check(batch)
            storing.async { [self] in
                defer { group.leave() }
                store(batch, blobs: blobs)
            }
        }
    }

    func wait() -> Result {
        group.wait()
        return result
    }

    /// Every image hashed and fully decoded, on all cores (in runs taken by whichever core is free).
    private static func check(_ batch: [SmallImage]) -> Result {
        let checked = ParallelMap.indices(batch.count, serialBelow: 2) { i in
            (SHA256Stream.digest(of: batch[i].data), DecodedImage.decode(batch[i].data, name: batch[i].path))
        }
        var result = Result()
        result.digests = checked.map(\.0)
        result.decoded = checked.map(\.1)
        result.committed = Array(repeating: nil, count: batch.count)
        return result
    }

    /// The images that decode, stored.
    private func store(_ batch: [SmallImage], blobs: any BlobStore) {
        let good = result.decoded.indices.filter { if case .size = result.decoded[$0] { true } else { false } }
        do {
            let stored = try blobs.storeAll(good.map { batch[$0].data }, digests: good.map { result.digests[$0] }, synced: false)
            for (i, blob) in zip(good, stored) { result.committed[i] = blob }
        } catch {
            result.error = error
        }
    }
}
