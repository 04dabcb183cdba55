import Foundation
import Yams

/// YOLO: one `.txt` per image with `class cx cy w h` lines normalised to [0, 1] (polygon lines
/// give their bounding box), in the three layouts the tools write — Ultralytics (`data.yaml`:
/// `path`, `train` / `val` / `test` image folders, `names` as a list or an index map, labels
/// under the matching `labels/` folder), darknet as CVAT / Datumaro write it (`obj.data`,
/// `obj.names`, `train.txt`, `obj_train_data/`, labels beside images) and Label Studio's
/// (`classes.txt`, `notes.json`, `images/`, `labels/`).
enum YOLOFormat {
    static let splits = ["train", "val", "test"]

    static func read(_ url: URL, options: DatasetReadOptions) throws(DatasetError) -> DatasetReadResult {
        guard let kind = options.files.kind(atPath: url.path) else { throw .missingFile(path: url.path) }
        let isFolder = kind == .folder
        let folder = isFolder ? url : url.deletingLastPathComponent()
        func has(_ name: String) -> Bool { options.files.fileExists(atPath: folder.appendingPathComponent(name).path) }
        if !isFolder, url.lastPathComponent == "obj.data" || !has("data.yaml") && has("obj.data") { return try readDarknet(folder, options: options) }
        if ["data.yaml", "data.yml", "dataset.yaml"].contains(where: has) || !isFolder { return try readUltralytics(url, options: options) }
        if has("obj.data") || has("obj.names") { return try readDarknet(folder, options: options) }
        if has("classes.txt") || has("notes.json") { return try readLabelStudio(folder, options: options) }
        throw .missingFile(path: folder.appendingPathComponent("data.yaml").path)
    }

    /// Ultralytics: `data.yaml` with `path`, split folders (or lists of folders) and `names`.
    static func readUltralytics(_ url: URL, options: DatasetReadOptions) throws(DatasetError) -> DatasetReadResult {
        let yamlURL = try ExportFiles.locate(url, names: ["data.yaml", "data.yml", "dataset.yaml"], files: options.files)
        let name = yamlURL.lastPathComponent
        guard let text = try? String(contentsOf: yamlURL, encoding: .utf8) else { throw .missingFile(path: yamlURL.path) }
        let parsed: Any?
        do { parsed = try Yams.load(yaml: text) } catch {
            throw .corrupt(item: name, reason: "not valid YAML: \(error)")
        }
        guard let top = parsed as? [String: Any] else { throw .corrupt(item: name, reason: "top level is not a mapping") }
        var base = yamlURL.deletingLastPathComponent()
        // `path` is often where the author kept the data (an absolute path, or one relative to
        // Ultralytics' datasets folder): used only when it exists here.
        if let path = top["path"] as? String, !path.isEmpty {
            let candidate = path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
            if options.files.fileExists(atPath: candidate.path) { base = candidate }
        }
        let categories = try names(top["names"], file: name)
        var files: [(file: String, split: String?)] = []
        var seen = Set<String>()
        for split in splits {
            let folders: [String]
            switch top[split] {
            case let one as String: folders = [one]
            case let many as [Any]: folders = many.compactMap { $0 as? String }
            case nil: continue
            default: throw .invalidValue(item: name, field: split, reason: "expected a folder or a list of folders")
            }
            for folder in folders {
                let dir = base.appendingPathComponent(folder)
                guard options.files.isFolder(atPath: dir.path) else { throw .missingFile(path: dir.path) }
                for relative in ExportFiles.imageFiles(in: dir, files: options.files) {
                    let file = folder.hasSuffix("/") ? folder + relative : folder + "/" + relative
                    if seen.insert(file).inserted { files.append((file, split)) }
                }
            }
        }
        return collect(files, root: base, categories: categories, options: options, labelPath: labelPath(for:))
    }

    /// Darknet, as CVAT and Datumaro export "YOLO 1.1": `obj.data` (`classes`, `train`, `valid`,
    /// `names`, paths written as `data/…`), `obj.names`, `train.txt` listing
    /// `data/obj_train_data/a.jpg`, and each image's `.txt` beside it.
    static func readDarknet(_ folder: URL, options: DatasetReadOptions) throws(DatasetError) -> DatasetReadResult {
        var settings: [String: String] = [:]
        if let text = try? String(contentsOf: folder.appendingPathComponent("obj.data"), encoding: .utf8) {
            for line in text.split(whereSeparator: \.isNewline) {
                let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2 { settings[parts[0]] = parts[1] }
            }
        }
        /// A path from obj.data or a list, relative to the folder (CVAT writes them under `data/`).
        func local(_ path: String) -> String? {
            var p = path.trimmingCharacters(in: .whitespaces)
            while p.hasPrefix("./") { p.removeFirst(2) }
            if options.files.fileExists(atPath: folder.appendingPathComponent(p).path) { return p }
            if p.hasPrefix("data/"), options.files.fileExists(atPath: folder.appendingPathComponent(String(p.dropFirst(5))).path) {
                return String(p.dropFirst(5))
            }
            return nil
        }
        guard let namesFile = local(settings["names"] ?? "obj.names"),
              let namesText = try? String(contentsOf: folder.appendingPathComponent(namesFile), encoding: .utf8) else {
            throw .missingFile(path: folder.appendingPathComponent(settings["names"] ?? "obj.names").path)
        }
        let classNames = namesText.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if let declared = settings["classes"].flatMap(Int.init), declared != classNames.count {
            throw .invalidValue(item: "obj.data", field: "classes", reason: "says \(declared) classes, \(namesFile) lists \(classNames.count)")
        }
        let categories = classNames.enumerated().map { DatasetCategory(id: $0.offset, name: $0.element) }
        var files: [(file: String, split: String?)] = []
        var seen = Set<String>()
        var problems: [DatasetProblem] = []
        let lists: [(String, String)] = [("train", settings["train"] ?? "train.txt"), ("val", settings["valid"] ?? "valid.txt"),
                                         ("test", settings["test"] ?? "test.txt")]
        for (split, listPath) in lists {
            guard let list = local(listPath), let text = try? String(contentsOf: folder.appendingPathComponent(list), encoding: .utf8) else {
                if split == "train", settings["train"] != nil { throw .missingFile(path: folder.appendingPathComponent(listPath).path) }
                continue
            }
            for line in text.split(whereSeparator: \.isNewline) where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                guard let file = local(String(line)) else {
                    problems.append(.init(.missingImage, item: String(line), field: "file", reason: "listed in \(list) but not in the upload"))
                    continue
                }
                if seen.insert(file).inserted { files.append((file, split)) }
            }
        }
        if files.isEmpty {
            // No lists: every image under obj_*_data folders (or anywhere), split by folder name.
            for file in ExportFiles.imageFiles(in: folder, files: options.files) {
                let top = file.split(separator: "/").first.map(String.init) ?? ""
                let split = top.hasPrefix("obj_") && top.hasSuffix("_data") ? String(top.dropFirst(4).dropLast(5)) : nil
                files.append((file, split.map { $0 == "valid" ? "val" : $0 }))
            }
        }
        var result = collect(files, root: folder, categories: categories, options: options) { file in
            String(file[..<(file.lastIndex(of: ".") ?? file.endIndex)]) + ".txt"
        }
        result.problems = problems + result.problems
        return result
    }

    /// Label Studio's YOLO export: `classes.txt` (and `notes.json` with the categories),
    /// `images/`, `labels/`.
    static func readLabelStudio(_ folder: URL, options: DatasetReadOptions) throws(DatasetError) -> DatasetReadResult {
        var categories: [DatasetCategory] = []
        if let notes = try? ExportFiles.readJSON(folder.appendingPathComponent("notes.json")) as? [String: Any],
           let list = notes["categories"] as? [[String: Any]] {
            categories = list.compactMap { entry in
                guard let id = JSONValue.int(entry["id"]), let name = entry["name"] as? String else { return nil }
                return DatasetCategory(id: id, name: name)
            }.sorted { $0.id < $1.id }
        }
        if categories.isEmpty {
            guard let text = try? String(contentsOf: folder.appendingPathComponent("classes.txt"), encoding: .utf8) else {
                throw .missingFile(path: folder.appendingPathComponent("classes.txt").path)
            }
            categories = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                .enumerated().map { DatasetCategory(id: $0.offset, name: $0.element) }
        }
        let files = ExportFiles.imageFiles(in: folder, files: options.files).filter { $0.hasPrefix("images/") }.map { (file: $0, split: String?.none) }
        return collect(files, root: folder, categories: categories, options: options, labelPath: labelPath(for:))
    }

    /// Reads each image's label file and checks the image.
    static func collect(_ files: [(file: String, split: String?)], root: URL, categories: [DatasetCategory], options: DatasetReadOptions,
                        labelPath: (String) -> String) -> DatasetReadResult {
        var assembler = DatasetAssembler(root: root, categories: categories, options: options)
        var nextId = 1
        for (file, split) in files {
            let item = file
            guard let facts = assembler.inspect(file: file, item: item) else { continue }
            let labelFile = labelPath(file)
            var boxes: [LabeledBox] = []
            var ok = true
            if let labels = try? String(contentsOf: root.appendingPathComponent(labelFile), encoding: .utf8) {
                for (n, line) in labels.split(whereSeparator: \.isNewline).enumerated() {
                    let trimmed = line.trimmingCharacters(in: .whitespaces)
                    if trimmed.isEmpty { continue }
                    switch parseLine(trimmed, width: Double(facts.width), height: Double(facts.height)) {
                    case .success(let box): boxes.append(box)
                    case .failure(let error):
                        assembler.problem(.malformed, item: item, field: "\(labelFile):\(n + 1)", reason: error.reason)
                        ok = false
                    }
                }
            }
            guard ok else { continue }
            assembler.add(DatasetImage(id: nextId, file: file, width: facts.width, height: facts.height, digest: facts.digest,
                                       boxes: boxes, split: split), item: item)
            nextId += 1
        }
        return assembler.result()
    }

    /// `images/train/a.jpg` → `labels/train/a.txt` (the last `images` folder in the path).
    static func labelPath(for imagePath: String) -> String {
        var parts = imagePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if let i = parts.lastIndex(of: "images") { parts[i] = "labels" }
        let joined = parts.joined(separator: "/")
        let dot = joined.lastIndex(of: ".") ?? joined.endIndex
        return joined[..<dot] + ".txt"
    }

    private static func names(_ value: Any?, file: String) throws(DatasetError) -> [DatasetCategory] {
        switch value {
        case let list as [Any]:
            return list.enumerated().map { DatasetCategory(id: $0.offset, name: "\($0.element)") }
        case let map as [AnyHashable: Any]:
            var out: [DatasetCategory] = []
            for (key, name) in map {
                guard let id = (key as? Int) ?? Int("\(key)") else {
                    throw .invalidValue(item: file, field: "names", reason: "key \(key) is not a class index")
                }
                out.append(DatasetCategory(id: id, name: "\(name)"))
            }
            return out.sorted { $0.id < $1.id }
        default:
            throw .invalidValue(item: file, field: "names", reason: "expected a list of class names or an index → name map")
        }
    }

    private static func parseLine(_ line: String, width: Double, height: Double) -> Result<LabeledBox, LineError> {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 5, let cls = Int(fields[0]) else {
            return .failure(LineError(reason: "expected `class cx cy w h`, got `\(line)`"))
        }
        let values = fields.dropFirst().compactMap { Double($0) }
        guard values.count == fields.count - 1 else { return .failure(LineError(reason: "non-numeric value in `\(line)`")) }
        let x1, y1, x2, y2: Double
        if values.count == 4 {
            let (cx, cy, w, h) = (values[0], values[1], values[2], values[3])
            x1 = (cx - w / 2) * width; x2 = (cx + w / 2) * width
            y1 = (cy - h / 2) * height; y2 = (cy + h / 2) * height
        } else if values.count >= 6, values.count % 2 == 0 {
            let xs = stride(from: 0, to: values.count, by: 2).map { values[$0] * width }
            let ys = stride(from: 1, to: values.count, by: 2).map { values[$0] * height }
            x1 = xs.min()!; x2 = xs.max()!; y1 = ys.min()!; y2 = ys.max()!
        } else {
            return .failure(LineError(reason: "expected 4 box values or an even number (≥ 6) of polygon values, got \(values.count)"))
        }
        return .success(LabeledBox(xmin: x1, ymin: y1, xmax: x2, ymax: y2, category: cls))
    }

    struct LineError: Error { let reason: String }

    static func write(_ dataset: LabeledDataset, to folder: URL) throws(DatasetError) {
        let index = dataset.classIndex
        var used = Set<String>()
        for image in dataset.images {
            let split = image.split.flatMap { splits.contains($0) ? $0 : nil } ?? "train"
            used.insert(split)
            let file = "images/\(split)/\(ExportFiles.flatName(image))"
            try ExportFiles.place(image, of: dataset, at: folder.appendingPathComponent(file))
            let w = Double(image.width), h = Double(image.height)
            let lines = image.boxes.map { b -> String in
                let values = [(b.xmin + b.xmax) / 2 / w, (b.ymin + b.ymax) / 2 / h, b.width / w, b.height / h]
                return "\(index[b.category] ?? 0) " + values.map { String(format: "%.8f", $0) }.joined(separator: " ")
            }
            try ExportFiles.write(Data((lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).utf8),
                                  to: folder.appendingPathComponent(labelPath(for: file)))
        }
        var yaml = "# exported by VisionFleet\npath: .\n"
        for split in splits where used.contains(split) { yaml += "\(split): images/\(split)\n" }
        yaml += "nc: \(dataset.categories.count)\nnames:\n"
        for category in dataset.categories { yaml += "  - \(quoted(category.name))\n" }
        try ExportFiles.write(Data(yaml.utf8), to: folder.appendingPathComponent("data.yaml"))
    }

    /// A YAML double-quoted scalar.
    static func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
