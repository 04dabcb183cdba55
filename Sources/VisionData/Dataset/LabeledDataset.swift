import Foundation

/// A box in absolute pixel coordinates (x1, y1, x2, y2) of its image, with a category id.
public struct LabeledBox: Sendable, Equatable, Codable {
    public var xmin: Double
    public var ymin: Double
    public var xmax: Double
    public var ymax: Double
    public var category: Int

    public init(xmin: Double, ymin: Double, xmax: Double, ymax: Double, category: Int) {
        self.xmin = xmin
        self.ymin = ymin
        self.xmax = xmax
        self.ymax = ymax
        self.category = category
    }

    public var width: Double { xmax - xmin }
    public var height: Double { ymax - ymin }
}

/// A class of the dataset; ids are what labels and boxes refer to.
public struct DatasetCategory: Sendable, Equatable, Codable {
    public var id: Int
    public var name: String

    public init(id: Int, name: String) {
        self.id = id
        self.name = name
    }
}

/// One image of a dataset and its annotations.
public struct DatasetImage: Sendable, Equatable {
    public var id: Int
    /// Path relative to the dataset root (or a synthetic name for embedded pixels).
    public var file: String
    public var width: Int
    public var height: Int
    /// "sha256:<hex>" of the encoded file (or of the embedded pixels).
    public var digest: String
    /// Category id for classification.
    public var label: Int?
    public var boxes: [LabeledBox]
    /// "train", "val", "test" where the format says.
    public var split: String?
    /// Pixels held in memory (IDX) instead of a file.
    public var embedded: PixelImage?

    public init(id: Int, file: String, width: Int, height: Int, digest: String = "", label: Int? = nil,
                boxes: [LabeledBox] = [], split: String? = nil, embedded: PixelImage? = nil) {
        self.id = id
        self.file = file
        self.width = width
        self.height = height
        self.digest = digest
        self.label = label
        self.boxes = boxes
        self.split = split
        self.embedded = embedded
    }
}

extension DatasetImage {
    /// Whether a relative path has `.`, `..` or empty parts (it needs standardizing before
    /// it can be compared or confined).
    public static func hasDotOrEmptySegments(_ path: String) -> Bool {
        // A segment's length and how many of its bytes are dots: "", "." and ".." are all dots.
        var length = 0, dots = 0
        for byte in path.utf8 {
            if byte == UInt8(ascii: "/") {
                if dots == length, length <= 2 { return true }
                length = 0
                dots = 0
            } else {
                length += 1
                if byte == UInt8(ascii: ".") { dots += 1 }
            }
        }
        return dots == length && length <= 2
    }
}

/// The in-memory model every dataset format reads into and writes from.
public struct LabeledDataset: Sendable, Equatable {
    /// Folder image files are relative to.
    public var root: URL
    public var categories: [DatasetCategory]
    public var images: [DatasetImage]

    public init(root: URL, categories: [DatasetCategory], images: [DatasetImage]) {
        self.root = root
        self.categories = categories
        self.images = images
    }

    public func url(of image: DatasetImage) -> URL { root.appendingPathComponent(image.file) }

    public func categoryName(_ id: Int) -> String? { categories.first { $0.id == id }?.name }

    /// Index of each category id in `categories` (the class index a model predicts).
    public var classIndex: [Int: Int] {
        Dictionary(uniqueKeysWithValues: categories.enumerated().map { ($0.element.id, $0.offset) })
    }

    /// The pixels of an image: embedded or decoded from its file.
    public func pixels(of image: DatasetImage) throws(ImageError) -> PixelImage {
        if let embedded = image.embedded { return embedded }
        return try ImageCodec.decode(file: url(of: image))
    }
}

/// A dataset as read, with every item the reader had to leave out and why.
public struct DatasetReadResult: Sendable {
    public var dataset: LabeledDataset
    public var problems: [DatasetProblem]

    public init(dataset: LabeledDataset, problems: [DatasetProblem]) {
        self.dataset = dataset
        self.problems = problems
    }
}
