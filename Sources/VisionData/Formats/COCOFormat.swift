import Foundation

/// COCO detection JSON: `images` (id, file_name, width, height), `annotations` (id, image_id,
/// category_id, bbox [x, y, w, h] in pixels) and `categories` (id, name). Image files are
/// looked up beside the JSON, then in an `images/` folder there.
enum COCOFormat {
    static let annotationNames = ["annotations.json", "instances.json", "annotations/instances_default.json"]

    static func read(_ url: URL, options: DatasetReadOptions) throws(DatasetError) -> DatasetReadResult {
        let file = try ExportFiles.locate(url, names: annotationNames)
        let name = file.lastPathComponent
        guard let top = try ExportFiles.readJSON(file) as? [String: Any] else {
            throw .corrupt(item: name, reason: "top level is not an object")
        }
        guard let imageList = top["images"] as? [[String: Any]] else {
            throw .invalidValue(item: name, field: "images", reason: "missing or not a list of objects")
        }
        guard let categoryList = top["categories"] as? [[String: Any]] else {
            throw .invalidValue(item: name, field: "categories", reason: "missing or not a list of objects")
        }
        let annotationList = top["annotations"] as? [[String: Any]] ?? []
        var folder = file.deletingLastPathComponent()
        if folder.lastPathComponent == "annotations" { folder = folder.deletingLastPathComponent() }
        let imagesFolder = folder.appendingPathComponent("images")

        var categories: [DatasetCategory] = []
        var problems: [DatasetProblem] = []
        for (i, entry) in categoryList.enumerated() {
            guard let id = JSONValue.int(entry["id"]), let label = entry["name"] as? String, !label.isEmpty else {
                problems.append(.init(.malformed, item: "\(name) categories[\(i)]", field: "id/name", reason: "needs an integer id and a name"))
                continue
            }
            if categories.contains(where: { $0.id == id }) {
                problems.append(.init(.duplicateId, item: "category \(id)", field: "id", reason: "category id \(id) appears more than once"))
                continue
            }
            categories.append(DatasetCategory(id: id, name: label))
        }

        // Group annotations by image, checking what can be checked without the image.
        var boxesByImage: [Int: [LabeledBox]] = [:]
        var badImages: Set<Int> = []
        var annotationIds = Set<Int>()
        for (i, a) in annotationList.enumerated() {
            let item = "annotation \(JSONValue.int(a["id"]).map(String.init) ?? "#\(i)")"
            guard let imageId = JSONValue.int(a["image_id"]) else {
                problems.append(.init(.malformed, item: item, field: "image_id", reason: "missing or not an integer"))
                continue
            }
            if let id = JSONValue.int(a["id"]) {
                if annotationIds.contains(id) {
                    problems.append(.init(.duplicateId, item: item, field: "id", reason: "annotation id \(id) appears more than once"))
                    badImages.insert(imageId)
                    continue
                }
                annotationIds.insert(id)
            }
            guard let category = JSONValue.int(a["category_id"]) else {
                problems.append(.init(.malformed, item: item, field: "category_id", reason: "missing or not an integer"))
                badImages.insert(imageId)
                continue
            }
            let values = (a["bbox"] as? [Any])?.compactMap(JSONValue.double) ?? []
            guard values.count == 4, (a["bbox"] as? [Any])?.count == 4 else {
                problems.append(.init(.malformed, item: item, field: "bbox", reason: "expected [x, y, width, height] numbers"))
                badImages.insert(imageId)
                continue
            }
            boxesByImage[imageId, default: []].append(
                LabeledBox(xmin: values[0], ymin: values[1], xmax: values[0] + values[2], ymax: values[1] + values[3], category: category))
        }

        let root = FileManager.default.fileExists(atPath: imagesFolder.path) ? imagesFolder : folder
        var assembler = DatasetAssembler(root: root, categories: categories, options: options)
        let declared = Set(imageList.compactMap { JSONValue.int($0["id"]) })
        for a in annotationList {
            if let imageId = JSONValue.int(a["image_id"]), !declared.contains(imageId) {
                assembler.problem(.malformed, item: "annotation \(JSONValue.int(a["id"]).map(String.init) ?? "?")", field: "image_id",
                                  reason: "image id \(imageId) is not declared in images")
            }
        }
        for (i, entry) in imageList.enumerated() {
            guard let id = JSONValue.int(entry["id"]), let path = entry["file_name"] as? String, !path.isEmpty else {
                assembler.problem(.malformed, item: "\(name) images[\(i)]", field: "id/file_name", reason: "needs an integer id and a file_name")
                continue
            }
            let item = "image \(id) (\(path))"
            guard !badImages.contains(id) else {
                assembler.problem(.malformed, item: item, field: "annotations", reason: "left out: one of its annotations is malformed")
                continue
            }
            guard let facts = assembler.inspect(file: path, item: item) else { continue }
            if let w = JSONValue.int(entry["width"]), let h = JSONValue.int(entry["height"]), w != facts.width || h != facts.height {
                assembler.problem(.malformed, item: item, field: "width/height",
                                  reason: "annotation says \(w)×\(h), the file is \(facts.width)×\(facts.height)")
                continue
            }
            assembler.add(DatasetImage(id: id, file: path, width: facts.width, height: facts.height, digest: facts.digest,
                                       boxes: boxesByImage[id] ?? []), item: item)
        }
        var result = assembler.result()
        result.problems = problems + result.problems
        return result
    }

    static func write(_ dataset: LabeledDataset, to folder: URL) throws(DatasetError) {
        var images: [[String: Any]] = []
        var annotations: [[String: Any]] = []
        var nextAnnotation = 1
        for image in dataset.images {
            let name = ExportFiles.flatName(image)
            try ExportFiles.place(image, of: dataset, at: folder.appendingPathComponent("images").appendingPathComponent(name))
            images.append(["id": image.id, "file_name": name, "width": image.width, "height": image.height])
            for box in image.boxes {
                annotations.append([
                    "id": nextAnnotation, "image_id": image.id, "category_id": box.category, "iscrowd": 0,
                    "bbox": [box.xmin, box.ymin, box.width, box.height], "area": box.width * box.height,
                ])
                nextAnnotation += 1
            }
        }
        let categories = dataset.categories.map { ["id": $0.id, "name": $0.name, "supercategory": ""] as [String: Any] }
        try ExportFiles.json(["images": images, "annotations": annotations, "categories": categories,
                              "info": ["description": "exported by VisionFleet"]],
                             to: folder.appendingPathComponent("annotations.json"))
    }
}
