import Foundation

/// Image lists (EasyCV's classification format): `path label` per line, or a `.csv` with
/// `path,label` (a header row is recognised). Labels are class indices or class names; a
/// `classes.txt` beside the list names the indices. Paths are relative to the list's folder.
enum ImageListFormat {
    static let listNames = ["list.txt", "labels.csv", "train.txt", "list.csv"]

    static func read(_ url: URL, options: DatasetReadOptions) throws(DatasetError) -> DatasetReadResult {
        let file = try ExportFiles.locate(url, names: listNames)
        let folder = file.deletingLastPathComponent()
        guard let text = try? String(contentsOf: file, encoding: .utf8) else {
            throw .corrupt(item: file.lastPathComponent, reason: "not readable as UTF-8 text")
        }
        let csv = file.pathExtension.lowercased() == "csv"
        var rows: [(line: Int, path: String, label: String)] = []
        var problems: [DatasetProblem] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields: [String]
            if csv {
                fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                if n == 0, fields.count >= 2, ["path", "file", "filename", "image"].contains(fields[0].lowercased()) { continue }
            } else {
                // The label is the last field; paths may contain spaces.
                guard let space = line.lastIndex(where: { $0 == " " || $0 == "\t" }) else {
                    fields = [line]
                    problems.append(.init(.malformed, item: "\(file.lastPathComponent):\(n + 1)", field: "label", reason: "expected `path label`"))
                    continue
                }
                fields = [line[..<space].trimmingCharacters(in: .whitespaces), String(line[line.index(after: space)...])]
            }
            guard fields.count >= 2, !fields[0].isEmpty, !fields[1].isEmpty else {
                problems.append(.init(.malformed, item: "\(file.lastPathComponent):\(n + 1)", field: "label", reason: "expected path and label"))
                continue
            }
            rows.append((n + 1, fields[0], fields[1]))
        }

        var names: [String] = []
        if let classes = try? String(contentsOf: folder.appendingPathComponent("classes.txt"), encoding: .utf8) {
            names = classes.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        let numeric = rows.allSatisfy { Int($0.label) != nil }
        if names.isEmpty {
            if numeric {
                let top = rows.compactMap { Int($0.label) }.max() ?? -1
                names = (0...max(top, 0)).map(String.init)
            } else {
                names = Set(rows.map(\.label)).sorted()
            }
        }
        let categories = names.enumerated().map { DatasetCategory(id: $0.offset, name: $0.element) }
        let byName = Dictionary(names.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a })
        var assembler = DatasetAssembler(root: folder, categories: categories, options: options)
        var seenPaths = Set<String>()
        for row in rows {
            let item = "\(file.lastPathComponent):\(row.line) (\(row.path))"
            guard seenPaths.insert(row.path).inserted else {
                assembler.problem(.duplicateId, item: item, field: "path", reason: "\(row.path) is listed more than once")
                continue
            }
            let label = numeric ? Int(row.label) : byName[row.label]
            guard let label else {
                assembler.problem(.unknownCategory, item: item, field: "label", reason: "class `\(row.label)` is not in classes.txt")
                continue
            }
            guard let facts = assembler.inspect(file: row.path, item: item) else { continue }
            assembler.add(DatasetImage(id: row.line, file: row.path, width: facts.width, height: facts.height, digest: facts.digest,
                                       label: label), item: item)
        }
        var result = assembler.result()
        result.problems = problems + result.problems
        return result
    }

    static func write(_ dataset: LabeledDataset, to folder: URL) throws(DatasetError) {
        let index = dataset.classIndex
        var lines: [String] = []
        for image in dataset.images {
            guard let label = image.label, let i = index[label] else {
                throw .invalidValue(item: image.file, field: "label", reason: "an image list needs a class label on every image")
            }
            let name = "images/" + ExportFiles.flatName(image)
            try ExportFiles.place(image, of: dataset, at: folder.appendingPathComponent(name))
            lines.append("\(name) \(i)")
        }
        try ExportFiles.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: folder.appendingPathComponent("list.txt"))
        try ExportFiles.write(Data((dataset.categories.map(\.name).joined(separator: "\n") + "\n").utf8),
                              to: folder.appendingPathComponent("classes.txt"))
    }
}
