import Foundation

/// COCO ground truth for box evaluation: images, categories and annotations (bbox as
/// [x, y, width, height] in pixels).
public struct COCOGroundTruth: Sendable {
    public struct Annotation: Sendable, Equatable {
        public var id: Int
        public var imageId: Int
        public var categoryId: Int
        public var bbox: [Double]
        public var area: Double
        public var isCrowd: Bool

        public init(id: Int, imageId: Int, categoryId: Int, bbox: [Double], area: Double? = nil, isCrowd: Bool = false) {
            self.id = id; self.imageId = imageId; self.categoryId = categoryId; self.bbox = bbox
            self.area = area ?? bbox[2] * bbox[3]; self.isCrowd = isCrowd
        }
    }

    public var imageIds: [Int]
    public var categories: [(id: Int, name: String)]
    public var annotations: [Annotation]

    public init(imageIds: [Int], categories: [(id: Int, name: String)], annotations: [Annotation]) {
        self.imageIds = imageIds; self.categories = categories; self.annotations = annotations
    }
}

/// One detection as in a COCO results file.
public struct COCODetection: Sendable, Equatable {
    public var imageId: Int
    public var categoryId: Int
    public var bbox: [Double]
    public var score: Double

    public init(imageId: Int, categoryId: Int, bbox: [Double], score: Double) {
        self.imageId = imageId; self.categoryId = categoryId; self.bbox = bbox; self.score = score
    }
}

/// Why a COCO file could not be evaluated; names the file and the item.
public struct COCOFileError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let message: String
    public var description: String { "\(file): \(message)" }
}

extension COCOGroundTruth {
    /// Parses a COCO annotation file (`images`, `categories`, `annotations`).
    public static func parse(_ data: Data, file: String) throws -> COCOGroundTruth {
        guard let top = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw COCOFileError(file: file, message: "not a JSON object")
        }
        guard let images = top["images"] as? [[String: Any]] else { throw COCOFileError(file: file, message: "images: missing or not a list") }
        guard let cats = top["categories"] as? [[String: Any]] else { throw COCOFileError(file: file, message: "categories: missing or not a list") }
        let anns = top["annotations"] as? [[String: Any]] ?? []
        var imageIds: [Int] = []
        for (i, image) in images.enumerated() {
            guard let id = int(image["id"]) else { throw COCOFileError(file: file, message: "images[\(i)].id: missing or not an integer") }
            imageIds.append(id)
        }
        var categories: [(id: Int, name: String)] = []
        for (i, cat) in cats.enumerated() {
            guard let id = int(cat["id"]) else { throw COCOFileError(file: file, message: "categories[\(i)].id: missing or not an integer") }
            categories.append((id, cat["name"] as? String ?? "\(id)"))
        }
        let known = Set(imageIds)
        var annotations: [Annotation] = []
        for (i, a) in anns.enumerated() {
            guard let imageId = int(a["image_id"]), let categoryId = int(a["category_id"]) else {
                throw COCOFileError(file: file, message: "annotations[\(i)]: image_id and category_id must be integers")
            }
            guard known.contains(imageId) else { throw COCOFileError(file: file, message: "annotations[\(i)].image_id: \(imageId) is not in images") }
            let bbox = try box(a["bbox"], file: file, item: "annotations[\(i)].bbox")
            annotations.append(Annotation(id: int(a["id"]) ?? i + 1, imageId: imageId, categoryId: categoryId, bbox: bbox,
                                          area: double(a["area"]), isCrowd: (int(a["iscrowd"]) ?? 0) != 0))
        }
        return COCOGroundTruth(imageIds: imageIds, categories: categories, annotations: annotations)
    }

    /// Parses a COCO results file (a list of `{image_id, category_id, bbox, score}`); every
    /// image must be in this ground truth (as pycocotools' `loadRes` requires).
    public func parseDetections(_ data: Data, file: String) throws -> [COCODetection] {
        guard let list = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else {
            throw COCOFileError(file: file, message: "expected a JSON list of detections")
        }
        let known = Set(imageIds)
        return try list.enumerated().map { i, d in
            guard let imageId = COCOGroundTruth.int(d["image_id"]), let categoryId = COCOGroundTruth.int(d["category_id"]) else {
                throw COCOFileError(file: file, message: "[\(i)]: image_id and category_id must be integers")
            }
            guard known.contains(imageId) else {
                throw COCOFileError(file: file, message: "[\(i)].image_id: \(imageId) is not an image of the ground truth")
            }
            guard let score = COCOGroundTruth.double(d["score"]) else { throw COCOFileError(file: file, message: "[\(i)].score: missing or not a number") }
            return COCODetection(imageId: imageId, categoryId: categoryId, bbox: try COCOGroundTruth.box(d["bbox"], file: file, item: "[\(i)].bbox"),
                                 score: score)
        }
    }

    static func box(_ v: Any?, file: String, item: String) throws -> [Double] {
        guard let list = v as? [Any], list.count == 4 else { throw COCOFileError(file: file, message: "\(item): expected [x, y, width, height]") }
        let values = list.compactMap(double)
        guard values.count == 4 else { throw COCOFileError(file: file, message: "\(item): values must be finite numbers") }
        return values
    }

    static func int(_ v: Any?) -> Int? {
        guard let n = v as? NSNumber else { return nil }
        let d = n.doubleValue
        return d == d.rounded() && abs(d) < 1e15 ? Int(d) : nil
    }

    static func double(_ v: Any?) -> Double? {
        guard let n = v as? NSNumber, n.doubleValue.isFinite else { return nil }
        return n.doubleValue
    }
}
