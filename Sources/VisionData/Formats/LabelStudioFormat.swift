import Foundation

/// Label Studio's JSON export: a list of tasks, each with `data.image` and `annotations[].result`
/// of `rectanglelabels` (x, y, width, height in percent of the image, rotation in degrees about
/// the top-left corner) and `choices` (a class label). The first annotation that was not
/// cancelled is used. Image URLs (`/data/upload/…`, `/data/local-files/?d=…`, http) are
/// resolved against the export's folder by relative path, then by file name.
enum LabelStudioFormat {
    static func read(_ url: URL, options: DatasetReadOptions) throws(DatasetError) -> DatasetReadResult {
        let file = try ExportFiles.locate(url, names: ["export.json", "label_studio.json", "tasks.json"])
        let name = file.lastPathComponent
        guard let tasks = try ExportFiles.readJSON(file) as? [[String: Any]] else {
            throw .corrupt(item: name, reason: "expected a list of tasks (Label Studio's JSON export)")
        }
        let folder = file.deletingLastPathComponent()

        struct Pending { let id: Int; let item: String; let image: String; let results: [[String: Any]] }
        var pending: [Pending] = []
        var labelNames = Set<String>()
        var problems: [DatasetProblem] = []
        for (i, task) in tasks.enumerated() {
            let id = JSONValue.int(task["id"]) ?? i + 1
            let item = "task \(id)"
            guard let data = task["data"] as? [String: Any], let image = (data["image"] ?? data["img"]) as? String, !image.isEmpty else {
                problems.append(.init(.malformed, item: item, field: "data.image", reason: "missing image reference"))
                continue
            }
            let annotations = (task["annotations"] ?? task["completions"]) as? [[String: Any]] ?? []
            let chosen = annotations.first { ($0["was_cancelled"] as? Bool) != true }
            let results = chosen?["result"] as? [[String: Any]] ?? []
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
        for task in pending {
            let path = resolve(task.image, in: folder)
            guard let facts = assembler.inspect(file: path, item: "\(task.item) (\(task.image))") else { continue }
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

    /// A relative path under `folder` for an image URL of the export.
    static func resolve(_ reference: String, in folder: URL) -> String {
        var path = reference
        if let range = path.range(of: "?d=") { path = String(path[range.upperBound...]).removingPercentEncoding ?? path }
        if path.hasPrefix("http://") || path.hasPrefix("https://") || path.hasPrefix("s3://") || path.hasPrefix("gs://") {
            path = URL(string: path)?.lastPathComponent ?? path
        }
        while path.hasPrefix("/") { path.removeFirst() }
        let fm = FileManager.default
        if fm.fileExists(atPath: folder.appendingPathComponent(path).path) { return path }
        let base = (path as NSString).lastPathComponent
        for candidate in [base, "images/" + base] where fm.fileExists(atPath: folder.appendingPathComponent(candidate).path) {
            return candidate
        }
        return path
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
