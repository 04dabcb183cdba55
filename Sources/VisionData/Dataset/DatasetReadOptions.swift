import Foundation

/// How thoroughly a reader checks image files.
public struct DatasetReadOptions: Sendable {
    /// Decode every image fully (catches corrupt pixel data, not just headers). Ingestion does.
    public var verifyPixels: Bool
    /// Hash every file (SHA-256) into `DatasetImage.digest`.
    public var computeDigests: Bool

    /// Image files must lie under this folder (a server reading an upload): a path that
    /// leaves it (`..`, an absolute path) is a problem of its item, never read.
    public var confinedTo: URL?

    public init(verifyPixels: Bool = false, computeDigests: Bool = true, confinedTo: URL? = nil) {
        self.verifyPixels = verifyPixels
        self.computeDigests = computeDigests
        self.confinedTo = confinedTo
    }
}
