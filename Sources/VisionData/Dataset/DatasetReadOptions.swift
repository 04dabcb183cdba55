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

    /// Images already decoded elsewhere (a server decodes an upload on every core first): a
    /// reader takes their size or failure from here instead of the file.
    public var decoded: DecodedImages?

    /// Which files exist: the disk, or an upload whose images live in a store.
    public var files: any DatasetFileView

    public init(verifyPixels: Bool = false, computeDigests: Bool = true, confinedTo: URL? = nil, decoded: DecodedImages? = nil,
                files: any DatasetFileView = DiskFileView()) {
        self.verifyPixels = verifyPixels
        self.computeDigests = computeDigests
        self.confinedTo = confinedTo
        self.decoded = decoded
        self.files = files
    }
}

/// Images decoded elsewhere, by path relative to a folder (an upload's staging folder).
public struct DecodedImages: Sendable {
    public var root: URL
    public var byPath: [String: DecodedImage]

    public init(root: URL, byPath: [String: DecodedImage]) {
        self.root = root
        self.byPath = byPath
    }
}

/// What decoding one image file found: its size, or why it does not decode.
public enum DecodedImage: Sendable {
    case size(width: Int, height: Int)
    case failure(String)

    /// Reads and fully decodes the file at `path` (`name` in messages).
    public static func decode(path: String, name: String) -> DecodedImage {
        guard let data = FileManager.default.contents(atPath: path) else { return .failure("cannot read \(name)") }
        return decode(data, name: name)
    }

    /// Fully decodes an image file's bytes (`name` in messages).
    public static func decode(_ data: Data, name: String) -> DecodedImage {
        do {
            let image = try ImageCodec.decode(data, name: name)
            return .size(width: image.width, height: image.height)
        } catch {
            return .failure(error.description)
        }
    }
}
