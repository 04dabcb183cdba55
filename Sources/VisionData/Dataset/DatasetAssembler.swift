import Foundation

/// Shared checks for every reader: files exist and decode, ids are unique, labels and boxes
/// name known categories, boxes have area and lie inside their image. An image with any
/// problem is left out whole (a half-annotated image would teach background where objects
/// are) and the problem is listed.
struct DatasetAssembler {
    /// Boxes this far outside the image (pixels) are clipped silently: rounding in exports.
    static let clipTolerance = 1.0

    let root: URL
    let options: DatasetReadOptions
    var categories: [DatasetCategory]
    private(set) var images: [DatasetImage] = []
    private(set) var problems: [DatasetProblem] = []
    private var ids = Set<Int>()
    private var knownCategories: Set<Int>

    /// What `options.decoded`'s keys put before a path relative to `root` (nil when `root`
    /// lies outside the decoded images' folder), and that folder's path with a slash.
    private let decodedPrefix: String?
    private let decodedBase: String

    init(root: URL, categories: [DatasetCategory], options: DatasetReadOptions) {
        self.root = root
        let rootPath = root.standardizedFileURL.path + "/"
        decodedBase = (options.decoded?.root.standardizedFileURL.path ?? "") + "/"
        decodedPrefix = rootPath.hasPrefix(decodedBase) ? String(rootPath.dropFirst(decodedBase.count)) : nil
        self.options = options
        self.categories = categories
        knownCategories = Set(categories.map(\.id))
    }

    struct FileFacts {
        var width: Int
        var height: Int
        var digest: String
    }

    mutating func problem(_ kind: DatasetProblem.Kind, item: String, field: String, reason: String) {
        problems.append(DatasetProblem(kind, item: item, field: field, reason: reason))
    }

    mutating func addCategory(_ category: DatasetCategory) {
        categories.append(category)
        knownCategories.insert(category.id)
    }

    /// Size and digest of an image file, or nil with the problem recorded.
    mutating func inspect(file: String, item: String) -> FileFacts? {
        let (facts, problem) = examine(file: file, item: item)
        if let problem { problems.append(problem) }
        return facts
    }

    /// Records a problem `examine` found.
    mutating func record(_ problem: DatasetProblem) {
        problems.append(problem)
    }

    /// Size and digest of an image file, or the problem with it; changes nothing, so a reader
    /// may examine many files at once and record the problems in its own order.
    func examine(file: String, item: String) -> (FileFacts?, DatasetProblem?) {
        let plain = !file.hasPrefix("/") && !DatasetImage.hasDotOrEmptySegments(file)
        if let decoded = options.decoded?.byPath, plain, let prefix = decodedPrefix, let known = decoded[prefix.isEmpty ? file : prefix + file] {
            return Self.facts(known, item: item)
        }
        let url = root.appendingPathComponent(file)
        if let jail = options.confinedTo, !plain,
           !url.standardizedFileURL.path.hasPrefix(jail.standardizedFileURL.path + "/") {
            return (nil, DatasetProblem(.missingImage, item: item, field: "file", reason: "\(file) lies outside the upload"))
        }
        if let decoded = options.decoded?.byPath, !plain, url.standardizedFileURL.path.hasPrefix(decodedBase),
           let known = decoded[String(url.standardizedFileURL.path.dropFirst(decodedBase.count))] {
            return Self.facts(known, item: item)  // a path with `.` or `..` segments naming an image decoded elsewhere
        }
        guard let data = try? Data(contentsOf: url) else {
            return (nil, DatasetProblem(.missingImage, item: item, field: "file", reason: "\(file) not found under \(root.path)"))
        }
        do {
            let size: (width: Int, height: Int)
            if options.verifyPixels {
                let image = try ImageCodec.decode(data, name: file)
                size = (image.width, image.height)
            } else {
                size = try ImageCodec.size(data, name: file)
            }
            return (FileFacts(width: size.width, height: size.height, digest: options.computeDigests ? SHA256Digest.of(data) : ""), nil)
        } catch {
            return (nil, DatasetProblem(.unreadableImage, item: item, field: "file", reason: error.description))
        }
    }

    /// An image decoded elsewhere: its size, or its failure.
    private static func facts(_ known: DecodedImage, item: String) -> (FileFacts?, DatasetProblem?) {
        switch known {
        case .size(let width, let height): (FileFacts(width: width, height: height, digest: ""), nil)
        case .failure(let reason): (nil, DatasetProblem(.unreadableImage, item: item, field: "file", reason: reason))
        }
    }

    /// Room for `count` images (a reader that knows how many it will add).
    mutating func reserve(_ count: Int) {
        images.reserveCapacity(count)
        ids.reserveCapacity(count)
    }

    /// Validates and keeps an image, or records why not.
    mutating func add(_ candidate: DatasetImage, item: String) {
        guard !ids.contains(candidate.id) else {
            problem(.duplicateId, item: item, field: "id", reason: "image id \(candidate.id) appears more than once")
            return
        }
        var image = candidate
        var ok = true
        if let label = image.label, !knownCategories.contains(label) {
            problem(.unknownCategory, item: item, field: "label", reason: "category id \(label) is not declared")
            ok = false
        }
        for (i, box) in image.boxes.enumerated() {
            let field = "boxes[\(i)]"
            guard knownCategories.contains(box.category) else {
                problem(.unknownCategory, item: item, field: "\(field).category", reason: "category id \(box.category) is not declared")
                ok = false
                continue
            }
            guard [box.xmin, box.ymin, box.xmax, box.ymax].allSatisfy(\.isFinite) else {
                problem(.malformed, item: item, field: field, reason: "coordinates are not finite numbers")
                ok = false
                continue
            }
            let w = Double(image.width), h = Double(image.height), t = Self.clipTolerance
            guard box.xmin >= -t, box.ymin >= -t, box.xmax <= w + t, box.ymax <= h + t else {
                problem(.boxOutOfBounds, item: item, field: field,
                        reason: "box (\(fmt(box.xmin)), \(fmt(box.ymin)), \(fmt(box.xmax)), \(fmt(box.ymax))) lies outside the \(image.width)×\(image.height) image")
                ok = false
                continue
            }
            var clipped = box
            clipped.xmin = min(max(box.xmin, 0), w)
            clipped.ymin = min(max(box.ymin, 0), h)
            clipped.xmax = min(max(box.xmax, 0), w)
            clipped.ymax = min(max(box.ymax, 0), h)
            guard clipped.width > 0, clipped.height > 0 else {
                problem(.zeroAreaBox, item: item, field: field,
                        reason: "box (\(fmt(box.xmin)), \(fmt(box.ymin)), \(fmt(box.xmax)), \(fmt(box.ymax))) has zero area")
                ok = false
                continue
            }
            image.boxes[i] = clipped
        }
        guard ok else { return }
        ids.insert(image.id)
        images.append(image)
    }

    func result() -> DatasetReadResult {
        DatasetReadResult(dataset: LabeledDataset(root: root, categories: categories, images: images), problems: problems)
    }

    private func fmt(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(format: "%.2f", v) }
}
