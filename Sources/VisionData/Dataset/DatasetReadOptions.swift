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

    /// Images already decoded elsewhere (a server decodes an upload on every core first), by
    /// absolute path: a reader takes their size or failure from here instead of the file.
    public var decoded: [String: DecodedImage]?

    public init(verifyPixels: Bool = false, computeDigests: Bool = true, confinedTo: URL? = nil, decoded: [String: DecodedImage]? = nil) {
        self.verifyPixels = verifyPixels
        self.computeDigests = computeDigests
        self.confinedTo = confinedTo
        self.decoded = decoded
    }
}

/// What decoding one image file found: its size, or why it does not decode.
public enum DecodedImage: Sendable {
    case size(width: Int, height: Int)
    case failure(String)

    /// Reads and fully decodes the file at `path` (`name` in messages).
    public static func decode(path: String, name: String) -> DecodedImage {
        guard let data = FileManager.default.contents(atPath: path) else { return .failure("cannot read \(name)") }
        do {
            let image = try ImageCodec.decode(data, name: name)
            return .size(width: image.width, height: image.height)
        } catch {
            return .failure(error.description)
        }
    }
}
