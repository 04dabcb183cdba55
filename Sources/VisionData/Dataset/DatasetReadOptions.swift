/// How thoroughly a reader checks image files.
public struct DatasetReadOptions: Sendable {
    /// Decode every image fully (catches corrupt pixel data, not just headers). Ingestion does.
    public var verifyPixels: Bool
    /// Hash every file (SHA-256) into `DatasetImage.digest`.
    public var computeDigests: Bool

    public init(verifyPixels: Bool = false, computeDigests: Bool = true) {
        self.verifyPixels = verifyPixels
        self.computeDigests = computeDigests
    }
}
