import Foundation
import Yams

/// Ultralytics YOLO: `data.yaml` (`path`, `train` / `val` / `test` image folders, `names` as a
/// list or an index map) and one `.txt` per image under the matching `labels/` folder with
/// `class cx cy w h` lines normalised to [0, 1] (polygon lines give their bounding box).
enum YOLOFormat {
    static let splits = ["train", "val", "test"]

    static func read(_ url: URL, options: DatasetReadOptions) throws(DatasetError) -> DatasetReadResult {
        let yamlURL = try ExportFiles.locate(url, names: ["data.yaml", "data.yml", "dataset.yaml"])
        let name = yamlURL.lastPathComponent
        guard let text = try? String(contentsOf: yamlURL, encoding: .utf8) else { throw .missingFile(path: yamlURL.path) }
        let parsed: Any?
        do { parsed = try Yams.load(yaml: text) } catch {
            throw .corrupt(item: name, reason: "not valid YAML: \(error)")
        }
        guard let top = parsed as? [String: Any] else { throw .corrupt(item: name, reason: "top level is not a mapping") }
        var base = yamlURL.deletingLastPathComponent()
        if let path = top["path"] as? String, !path.isEmpty {
            base = path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
        }
        let categories = try names(top["names"], file: name)
        var assembler = DatasetAssembler(root: base, categories: categories, options: options)
        var nextId = 1
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
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
                    throw .missingFile(path: dir.path)
                }
                for relative in ExportFiles.imageFiles(in: dir) {
                    let file = folder.hasSuffix("/") ? folder + relative : folder + "/" + relative
                    guard seen.insert(file).inserted else { continue }
                    let item = file
                    guard let facts = assembler.inspect(file: file, item: item) else { continue }
                    let labelURL = base.appendingPathComponent(labelPath(for: file))
                    var boxes: [LabeledBox] = []
                    var ok = true
                    if let labels = try? String(contentsOf: labelURL, encoding: .utf8) {
                        for (n, line) in labels.split(whereSeparator: \.isNewline).enumerated() {
                            let trimmed = line.trimmingCharacters(in: .whitespaces)
                            if trimmed.isEmpty { continue }
                            switch parseLine(trimmed, width: Double(facts.width), height: Double(facts.height)) {
                            case .success(let box): boxes.append(box)
                            case .failure(let error):
                                assembler.problem(.malformed, item: item, field: "\(labelPath(for: file)):\(n + 1)", reason: error.reason)
                                ok = false
                            }
                        }
                    }
                    guard ok else { continue }
                    assembler.add(DatasetImage(id: nextId, file: file, width: facts.width, height: facts.height, digest: facts.digest,
                                               boxes: boxes, split: split), item: item)
                    nextId += 1
                }
            }
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
