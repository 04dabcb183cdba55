import Foundation

/// Label Studio's exports — JSON, JSON-MIN and CSV. JSON: a list of tasks, each with `data.image` and `annotations[].result`
/// of `rectanglelabels` (x, y, width, height in percent of the image, rotation in degrees about
/// the top-left corner) and `choices` (a class label). The first annotation that was not
/// cancelled is used. Image URLs (`/data/upload/…`, `/data/local-files/?d=…`, http) are
/// resolved against the export's folder by relative path, then by file name.
enum LabelStudioFormat {
    static let exportNames = ["export.json", "label_studio.json", "tasks.json", "export.csv"]
    /// Keys of a JSON-MIN / CSV row that are not annotations.
    static let metadataKeys: Set<String> = ["id", "image", "img", "annotator", "annotation_id", "created_at", "updated_at", "lead_time",
                                            "agreement", "inner_id", "total_annotations", "cancelled_annotations", "total_predictions",
                                            "drafts", "predictions", "project", "file_upload", "meta", "data", "annotations"]

    static func read(_ url: URL, options: DatasetReadOptions) throws(DatasetError) -> DatasetReadResult {
        let file = try locate(url)
        let name = file.lastPathComponent
        let rows: [[String: Any]]
        if file.pathExtension.lowercased() == "csv" {
            rows = try csvRows(file)
        } else {
            guard let list = try ExportFiles.readJSON(file) as? [[String: Any]] else {
                throw .corrupt(item: name, reason: "expected a list of tasks (Label Studio's JSON or JSON-MIN export)")
            }
            rows = list
        }
        let folder = file.deletingLastPathComponent()

        struct Pending { let id: Int; let item: String; let image: String; let results: [[String: Any]] }
        var pending: [Pending] = []
        var labelNames = Set<String>()
        var problems: [DatasetProblem] = []
        for (i, task) in rows.enumerated() {
            let id = JSONValue.int(task["id"]) ?? i + 1
            let item = "task \(id)"
            let data = task["data"] as? [String: Any] ?? task
            guard let image = (data["image"] ?? data["img"]) as? String, !image.isEmpty else {
                problems.append(.init(.malformed, item: item, field: "data.image", reason: "missing image reference"))
                continue
            }
            let results: [[String: Any]]
            if task["data"] != nil || task["annotations"] != nil || task["completions"] != nil {
                let annotations = (task["annotations"] ?? task["completions"]) as? [[String: Any]] ?? []
                let chosen = annotations.first { ($0["was_cancelled"] as? Bool) != true }
                results = chosen?["result"] as? [[String: Any]] ?? []
            } else {
                results = minResults(task)
            }
            for r in results {
                let value = r["value"] as? [String: Any] ?? [:]
                for key in ["rectanglelabels", "choices", "labels"] {
                    for label in value[key] as? [String] ?? [] { labelNames.insert(label) }
                }
            }
            pending.append(Pending(id: id, item: item, image: image, results: results))
        }
        let sorted = labelNames.sorted()
        let categories = sorted.enumerated().map { DatasetCategory(id: $0.offset, name: $0.element) }
        let idOf = Dictionary(uniqueKeysWithValues: sorted.enumerated().map { ($0.element, $0.offset) })

        var assembler = DatasetAssembler(root: folder, categories: categories, options: options)
        var finder = ImageFinder(folder: folder, files: options.files)
        for task in pending {
            guard let path = resolve(task.image, finder: &finder, item: "\(task.item) (\(task.image))", assembler: &assembler),
                  let facts = assembler.inspect(file: path, item: "\(task.item) (\(task.image))") else { continue }
            let item = "\(task.item) (\(path))"
            var boxes: [LabeledBox] = []
            var label: Int?
            var ok = true
            for (k, r) in task.results.enumerated() {
                let value = r["value"] as? [String: Any] ?? [:]
                let field = "result[\(k)]"
                switch r["type"] as? String {
                case "rectanglelabels":
                    guard let x = JSONValue.double(value["x"]), let y = JSONValue.double(value["y"]),
                          let w = JSONValue.double(value["width"]), let h = JSONValue.double(value["height"]),
                          let names = value["rectanglelabels"] as? [String], let first = names.first, let id = idOf[first] else {
                        assembler.problem(.malformed, item: item, field: "\(field).value", reason: "needs x, y, width, height and one rectangle label")
                        ok = false
                        continue
                    }
                    if let ow = JSONValue.int(r["original_width"]), let oh = JSONValue.int(r["original_height"]),
                       ow != facts.width || oh != facts.height {
                        assembler.problem(.malformed, item: item, field: "\(field).original_width",
                                          reason: "says \(ow)×\(oh), the file is \(facts.width)×\(facts.height)")
                        ok = false
                        continue
                    }
                    let sx = Double(facts.width) / 100, sy = Double(facts.height) / 100
                    let rotation = (JSONValue.double(value["rotation"]) ?? 0) * .pi / 180
                    let corners = [(0.0, 0.0), (w * sx, 0.0), (w * sx, h * sy), (0.0, h * sy)].map { (cx, cy) in
                        (x * sx + cx * cos(rotation) - cy * sin(rotation), y * sy + cx * sin(rotation) + cy * cos(rotation))
                    }
                    boxes.append(LabeledBox(xmin: corners.map(\.0).min()!, ymin: corners.map(\.1).min()!,
                                            xmax: corners.map(\.0).max()!, ymax: corners.map(\.1).max()!, category: id))
                case "choices":
                    guard let choice = (value["choices"] as? [String])?.first, let id = idOf[choice] else {
                        assembler.problem(.malformed, item: item, field: "\(field).value.choices", reason: "needs one choice")
                        ok = false
                        continue
                    }
                    label = id
                default:
                    continue  // other tools (brushes, text) carry nothing for these tasks
                }
            }
            guard ok else { continue }
            assembler.add(DatasetImage(id: task.id, file: path, width: facts.width, height: facts.height, digest: facts.digest,
                                       label: label, boxes: boxes), item: item)
        }
        var result = assembler.result()
        result.problems = problems + result.problems
        return result
    }

    /// The export file: `url`, or in a folder the usual names, else its one JSON or CSV file.
    static func locate(_ url: URL) throws(DatasetError) -> URL {
        if let found = try? ExportFiles.locate(url, names: exportNames) { return found }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [])
            .filter { ["json", "csv"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
        guard let first = names.first else { throw .missingFile(path: url.appendingPathComponent(exportNames[0]).path) }
        return url.appendingPathComponent(first)
    }

    /// The CSV export: a header row, then one row per task; cells holding JSON (the regions)
    /// are decoded.
    static func csvRows(_ file: URL) throws(DatasetError) -> [[String: Any]] {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { throw .corrupt(item: file.lastPathComponent, reason: "not UTF-8 text") }
        let table = CSVRows.parse(text)
        guard let header = table.first, header.contains("image") || header.contains("img") else {
            throw .corrupt(item: file.lastPathComponent, reason: "expected Label Studio's CSV export: a header row with an image column")
        }
        return table.dropFirst().filter { $0.count > 1 || $0.first?.isEmpty == false }.map { row in
            var object: [String: Any] = [:]
            for (key, cell) in zip(header, row) {
                if cell.hasPrefix("[") || cell.hasPrefix("{"), let decoded = try? JSONSerialization.jsonObject(with: Data(cell.utf8)) {
                    object[key] = decoded
                } else if !cell.isEmpty {
                    object[key] = key == "id" ? (Int(cell) as Any? ?? cell) : cell
                }
            }
            return object
        }
    }

    /// JSON-MIN (and CSV) rows name each control: a list of regions (`rectanglelabels` with
    /// x, y, width, height in percent) or a choice (a string, or `{"choices": [...]}`).
    static func minResults(_ row: [String: Any]) -> [[String: Any]] {
        var results: [[String: Any]] = []
        for key in row.keys.sorted() where !metadataKeys.contains(key) {
            switch row[key] {
            case let regions as [[String: Any]]:
                for region in regions {
                    var r: [String: Any] = ["value": region]
                    if region["rectanglelabels"] != nil { r["type"] = "rectanglelabels" } else if region["choices"] != nil { r["type"] = "choices" } else { continue }
                    r["original_width"] = region["original_width"]
                    r["original_height"] = region["original_height"]
                    results.append(r)
                }
            case let choice as String:
                results.append(["type": "choices", "value": ["choices": [choice]]])
            case let choices as [String: Any] where choices["choices"] != nil:
                results.append(["type": "choices", "value": choices])
            default:
                continue
            }
        }
        return results
    }

    /// The uploaded file an image reference names (`/data/upload/3/1a2b3c4d-cat.png`,
    /// `/data/local-files/?d=…`, a URL or a path): by relative path, else by file name — also
    /// without the 8-hex prefix Label Studio gives uploads, as its own converter does.
    static func resolve(_ reference: String, finder: inout ImageFinder, item: String, assembler: inout DatasetAssembler) -> String? {
        var path = reference
        if let range = path.range(of: "?d=") { path = String(path[range.upperBound...]).removingPercentEncoding ?? path }
        if path.hasPrefix("http://") || path.hasPrefix("https://") || path.hasPrefix("s3://") || path.hasPrefix("gs://") {
            path = URL(string: path)?.path ?? path
        }
        path = path.removingPercentEncoding ?? path
        while path.hasPrefix("/") { path.removeFirst() }
        if !path.contains(".."), finder.files.fileExists(atPath: finder.folder.appendingPathComponent(path).path) { return path }
        let base = (path as NSString).lastPathComponent
        var names = [base]
        if let dash = base.firstIndex(of: "-"), base.distance(from: base.startIndex, to: dash) == 8,
           base[..<dash].allSatisfy(\.isHexDigit) {
            names.append(String(base[base.index(after: dash)...]))
        }
        for name in names {
            let matches = finder.byBaseName[name] ?? []
            if matches.count == 1 { return matches[0] }
            if matches.count > 1 {
                assembler.problem(.missingImage, item: item, field: "data.image",
                                  reason: "\(reference): \(matches.count) uploaded files are named \(name) (\(matches.prefix(4).joined(separator: ", "))): ambiguous")
                return nil
            }
        }
        assembler.problem(.missingImage, item: item, field: "data.image", reason: "\(reference): no uploaded file named \(names.joined(separator: " or "))")
        return nil
    }

    static func write(_ dataset: LabeledDataset, to folder: URL) throws(DatasetError) {
        var tasks: [[String: Any]] = []
        for image in dataset.images {
            let name = "images/" + ExportFiles.flatName(image)
            try ExportFiles.place(image, of: dataset, at: folder.appendingPathComponent(name))
            var results: [[String: Any]] = []
            let w = Double(image.width), h = Double(image.height)
            for (k, box) in image.boxes.enumerated() {
                results.append([
                    "id": "b\(image.id)_\(k)", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
                    "original_width": image.width, "original_height": image.height, "image_rotation": 0,
                    "value": ["x": box.xmin / w * 100, "y": box.ymin / h * 100, "width": box.width / w * 100,
                              "height": box.height / h * 100, "rotation": 0,
                              "rectanglelabels": [dataset.categoryName(box.category) ?? "\(box.category)"]] as [String: Any],
                ])
            }
            if let label = image.label {
                results.append(["id": "c\(image.id)", "type": "choices", "from_name": "choice", "to_name": "image",
                                "value": ["choices": [dataset.categoryName(label) ?? "\(label)"]]])
            }
            tasks.append(["id": image.id, "data": ["image": name],
                          "annotations": [["id": image.id, "was_cancelled": false, "result": results] as [String: Any]]])
        }
        try ExportFiles.json(tasks, to: folder.appendingPathComponent("export.json"))
    }
}
