import Foundation

/// COCO detection JSON: `images` (id, file_name, width, height), `annotations` (id, image_id,
/// category_id, bbox [x, y, w, h] in pixels) and `categories` (id, name). One file, or the
/// subset layout CVAT and Datumaro write (`annotations/instances_<subset>.json`, the subset
/// naming the split). Image files are looked up beside the JSON, under `images/<subset>/` and
/// `images/`, then by base name anywhere in the upload (a `file_name` with folders the upload
/// lacks; several files with that name is reported as ambiguous).
enum COCOFormat {
    static let annotationNames = ["annotations.json", "instances.json", "annotations/instances_default.json"]

    /// One annotation file and the subset (split) it holds.
    struct Part { var file: URL; var subset: String? }

    static func read(_ url: URL, options: DatasetReadOptions) throws(DatasetError) -> DatasetReadResult {
        guard let kind = options.files.kind(atPath: url.path) else { throw .missingFile(path: url.path) }
        let parts: [Part]
        if kind == .folder, case let subsets = subsetFiles(url), !subsets.isEmpty {
            parts = subsets
        } else {
            parts = [Part(file: try ExportFiles.locate(url, names: annotationNames, files: options.files), subset: nil)]
        }
        var folder = parts[0].file.deletingLastPathComponent()
        if folder.lastPathComponent == "annotations" { folder = folder.deletingLastPathComponent() }
        var reader = Reader(folder: folder, options: options)
        for part in parts { try reader.read(part) }
        return reader.finish()
    }

    /// Datumaro / CVAT "COCO 1.0" layout: `annotations/instances_<subset>.json`, images in
    /// `images/<subset>/`.
    static func subsetFiles(_ folder: URL) -> [Part] {
        let dir = folder.appendingPathComponent("annotations")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasPrefix("instances_") && $0.hasSuffix(".json") }.sorted().map { name in
            Part(file: dir.appendingPathComponent(name), subset: String(name.dropFirst("instances_".count).dropLast(5)))
        }
    }

    static func split(ofSubset subset: String?) -> String? {
        switch subset?.lowercased() {
        case "train": "train"
        case "val", "valid", "validation": "val"
        case "test": "test"
        default: nil
        }
    }

    /// Reads one or more annotation files into one dataset: image ids renumbered across
    /// subsets, categories merged by id.
    struct Reader {
        let folder: URL
        var assembler: DatasetAssembler
        var problems: [DatasetProblem] = []
        var nextId = 1
        var finder: ImageFinder

        init(folder: URL, options: DatasetReadOptions) {
            self.folder = folder
            finder = ImageFinder(folder: folder, files: options.files)
            assembler = DatasetAssembler(root: folder, categories: [], options: options)
        }

        mutating func read(_ part: Part) throws(DatasetError) {
            let name = part.subset.map { "instances_\($0).json" } ?? part.file.lastPathComponent
            guard let top = try ExportFiles.readJSON(part.file) as? [String: Any] else {
                throw .corrupt(item: name, reason: "top level is not an object")
            }
            guard let imageList = top["images"] as? [[String: Any]] else {
                throw .invalidValue(item: name, field: "images", reason: "missing or not a list of objects")
            }
            guard let categoryList = top["categories"] as? [[String: Any]] else {
                throw .invalidValue(item: name, field: "categories", reason: "missing or not a list of objects")
            }
            let annotationList = top["annotations"] as? [[String: Any]] ?? []
            var seenHere = Set<Int>()
            for (i, entry) in categoryList.enumerated() {
                guard let id = JSONValue.int(entry["id"]), let label = entry["name"] as? String, !label.isEmpty else {
                    problems.append(.init(.malformed, item: "\(name) categories[\(i)]", field: "id/name", reason: "needs an integer id and a name"))
                    continue
                }
                guard seenHere.insert(id).inserted else {
                    problems.append(.init(.duplicateId, item: "\(name) category \(id)", field: "id", reason: "category id \(id) appears more than once"))
                    continue
                }
                if let known = assembler.categories.first(where: { $0.id == id }) {
                    if known.name != label {
                        problems.append(.init(.malformed, item: "\(name) category \(id)", field: "name",
                                              reason: "named '\(label)' here and '\(known.name)' in another subset"))
                    }
                } else {
                    assembler.addCategory(DatasetCategory(id: id, name: label))
                }
            }

            // Group annotations by image, checking what can be checked without the image.
            var boxesByImage: [Int: [LabeledBox]] = [:]
            var badImages: Set<Int> = []
            var annotationIds = Set<Int>()
            let declared = Set(imageList.compactMap { JSONValue.int($0["id"]) })
            let prefix = part.subset.map { "\($0) " } ?? ""
            for (i, a) in annotationList.enumerated() {
                let item = "\(prefix)annotation \(JSONValue.int(a["id"]).map(String.init) ?? "#\(i)")"
                guard let imageId = JSONValue.int(a["image_id"]) else {
                    problems.append(.init(.malformed, item: item, field: "image_id", reason: "missing or not an integer"))
                    continue
                }
                guard declared.contains(imageId) else {
                    problems.append(.init(.malformed, item: item, field: "image_id", reason: "image id \(imageId) is not declared in images"))
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

            var idsHere = Set<Int>()
            for (i, entry) in imageList.enumerated() {
                guard let id = JSONValue.int(entry["id"]), let path = entry["file_name"] as? String, !path.isEmpty else {
                    assembler.problem(.malformed, item: "\(name) images[\(i)]", field: "id/file_name", reason: "needs an integer id and a file_name")
                    continue
                }
                let item = "\(prefix)image \(id) (\(path))"
                guard idsHere.insert(id).inserted else {
                    assembler.problem(.duplicateId, item: item, field: "id", reason: "image id \(id) appears more than once")
                    continue
                }
                guard !badImages.contains(id) else {
                    assembler.problem(.malformed, item: item, field: "annotations", reason: "left out: one of its annotations is malformed")
                    continue
                }
                guard let file = finder.locate(path, subset: part.subset, item: item, assembler: &assembler) else { continue }
                guard let facts = assembler.inspect(file: file, item: item) else { continue }
                if let w = JSONValue.int(entry["width"]), let h = JSONValue.int(entry["height"]), w != facts.width || h != facts.height {
                    assembler.problem(.malformed, item: item, field: "width/height",
                                      reason: "annotation says \(w)×\(h), the file is \(facts.width)×\(facts.height)")
                    continue
                }
                assembler.add(DatasetImage(id: nextId, file: file, width: facts.width, height: facts.height, digest: facts.digest,
                                           boxes: boxesByImage[id] ?? [], split: COCOFormat.split(ofSubset: part.subset)), item: item)
                nextId += 1
            }
        }

        mutating func finish() -> DatasetReadResult {
            var result = assembler.result()
            result.problems = problems + result.problems
            return result
        }
    }

    /// Writes `annotations.json` + `images/` when no image has a split, else the subset
    /// layout (`annotations/instances_<split>.json`, `images/<split>/`) that keeps the split.
    static func write(_ dataset: LabeledDataset, to folder: URL) throws(DatasetError) {
        let subsets = Set(dataset.images.compactMap(\.split))
        if subsets.isEmpty {
            try writePart(dataset.images, of: dataset, json: folder.appendingPathComponent("annotations.json"),
                          images: folder.appendingPathComponent("images"))
            return
        }
        for subset in subsets.sorted() {
            try writePart(dataset.images.filter { ($0.split ?? "train") == subset }, of: dataset,
                          json: folder.appendingPathComponent("annotations/instances_\(subset).json"),
                          images: folder.appendingPathComponent("images/\(subset)"))
        }
    }

    static func writePart(_ part: [DatasetImage], of dataset: LabeledDataset, json: URL, images imagesFolder: URL) throws(DatasetError) {
        var images: [[String: Any]] = []
        var annotations: [[String: Any]] = []
        var nextAnnotation = 1
        for image in part {
            let name = ExportFiles.flatName(image)
            try ExportFiles.place(image, of: dataset, at: imagesFolder.appendingPathComponent(name))
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
                              "info": ["description": "exported by VisionFleet"]], to: json)
    }
}
