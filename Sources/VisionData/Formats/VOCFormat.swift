import Foundation

/// Pascal VOC: `Annotations/*.xml` (filename, size, objects with name and bndbox in pixels)
/// and images in `JPEGImages/` (JPEG or PNG). `ImageSets/Main/{train,val,test}.txt` give splits where
/// present; categories are the object names (a `labels.txt` beside, if any, fixes their order).
enum VOCFormat {
    static func read(_ url: URL, options: DatasetReadOptions) throws(DatasetError) -> DatasetReadResult {
        let annotations = url.appendingPathComponent("Annotations")
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: annotations.path) else { throw .missingFile(path: annotations.path) }
        let xmlFiles = names.filter { $0.lowercased().hasSuffix(".xml") }.sorted()

        var splitOf: [String: String] = [:]
        for split in YOLOFormat.splits {
            let list = url.appendingPathComponent("ImageSets/Main/\(split).txt")
            guard let text = try? String(contentsOf: list, encoding: .utf8) else { continue }
            for line in text.split(whereSeparator: \.isNewline) {
                if let stem = line.split(separator: " ").first { splitOf[String(stem)] = split }
            }
        }

        // First pass: parse every file, collecting category names.
        struct Parsed { let stem: String; let node: XMLTree }
        var parsed: [Parsed] = []
        var problems: [DatasetProblem] = []
        var names_: [String] = []
        if let text = try? String(contentsOf: url.appendingPathComponent("labels.txt"), encoding: .utf8) {
            names_ = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        var seenNames = Set(names_)
        var discovered: [String] = []
        for file in xmlFiles {
            let stem = String(file.dropLast(4))
            guard let data = try? Data(contentsOf: annotations.appendingPathComponent(file)) else {
                problems.append(.init(.malformed, item: "Annotations/\(file)", field: "file", reason: "not readable"))
                continue
            }
            do {
                let root = try XMLTree.parse(data)
                guard root.name == "annotation" else {
                    problems.append(.init(.malformed, item: "Annotations/\(file)", field: "root", reason: "expected <annotation>, got <\(root.name)>"))
                    continue
                }
                for object in root.all("object") {
                    if let name = object.value("name"), !name.isEmpty, seenNames.insert(name).inserted { discovered.append(name) }
                }
                parsed.append(Parsed(stem: stem, node: root))
            } catch {
                problems.append(.init(.malformed, item: "Annotations/\(file)", field: "xml", reason: error.reason))
            }
        }
        let categoryNames = names_ + discovered.sorted()
        let categories = categoryNames.enumerated().map { DatasetCategory(id: $0.offset, name: $0.element) }
        let idOf = Dictionary(uniqueKeysWithValues: categoryNames.enumerated().map { ($0.element, $0.offset) })

        var assembler = DatasetAssembler(root: url, categories: categories, options: options)
        for (n, entry) in parsed.enumerated() {
            let item = "Annotations/\(entry.stem).xml"
            let file = imageFile(named: entry.node.value("filename"), stem: entry.stem, in: url, files: options.files)
            guard let facts = assembler.inspect(file: file, item: item) else { continue }
            if let size = entry.node.child("size"), let w = size.value("width").flatMap(Int.init),
               let h = size.value("height").flatMap(Int.init), w > 0, h > 0, w != facts.width || h != facts.height {
                assembler.problem(.malformed, item: item, field: "size", reason: "says \(w)×\(h), the file is \(facts.width)×\(facts.height)")
                continue
            }
            var boxes: [LabeledBox] = []
            var ok = true
            for (k, object) in entry.node.all("object").enumerated() {
                let field = "object[\(k)]"
                guard let name = object.value("name"), let id = idOf[name] else {
                    assembler.problem(.malformed, item: item, field: "\(field).name", reason: "missing class name")
                    ok = false
                    continue
                }
                guard let box = object.child("bndbox"),
                      let x1 = box.value("xmin").flatMap(Double.init), let y1 = box.value("ymin").flatMap(Double.init),
                      let x2 = box.value("xmax").flatMap(Double.init), let y2 = box.value("ymax").flatMap(Double.init) else {
                    assembler.problem(.malformed, item: item, field: "\(field).bndbox", reason: "needs numeric xmin, ymin, xmax, ymax")
                    ok = false
                    continue
                }
                boxes.append(LabeledBox(xmin: x1, ymin: y1, xmax: x2, ymax: y2, category: id))
            }
            guard ok else { continue }
            assembler.add(DatasetImage(id: n + 1, file: file, width: facts.width, height: facts.height, digest: facts.digest,
                                       boxes: boxes, split: splitOf[entry.stem]), item: item)
        }
        var result = assembler.result()
        result.problems = problems + result.problems
        return result
    }

    /// `JPEGImages/<filename>`; with no filename (or none under that name) the stem with a
    /// .jpg, .jpeg or .png extension (VOC-style exports of PNG data keep the folder name).
    static func imageFile(named filename: String?, stem: String, in root: URL, files: any DatasetFileView) -> String {
        if let filename, !filename.isEmpty {
            let file = "JPEGImages/\(filename)"
            if files.fileExists(atPath: root.appendingPathComponent(file).path) { return file }
        }
        let base = (filename.flatMap { $0.isEmpty ? nil : ($0 as NSString).deletingPathExtension }) ?? stem
        for ext in ["jpg", "png", "jpeg", "JPG", "PNG", "JPEG"] {
            let file = "JPEGImages/\(base).\(ext)"
            if files.fileExists(atPath: root.appendingPathComponent(file).path) { return file }
        }
        return "JPEGImages/\(filename.flatMap { $0.isEmpty ? nil : $0 } ?? stem + ".jpg")"
    }

    static func write(_ dataset: LabeledDataset, to folder: URL) throws(DatasetError) {
        var splits: [String: [String]] = [:]
        for image in dataset.images {
            let name = ExportFiles.flatName(image)
            let stem = String(name[..<(name.lastIndex(of: ".") ?? name.endIndex)])
            try ExportFiles.place(image, of: dataset, at: folder.appendingPathComponent("JPEGImages/\(name)"))
            var xml = "<annotation>\n  <folder>JPEGImages</folder>\n  <filename>\(XMLTree.escape(name))</filename>\n"
            xml += "  <size>\n    <width>\(image.width)</width>\n    <height>\(image.height)</height>\n"
            xml += "    <depth>\(image.embedded?.channels ?? 3)</depth>\n  </size>\n"
            for box in image.boxes {
                xml += "  <object>\n    <name>\(XMLTree.escape(dataset.categoryName(box.category) ?? "\(box.category)"))</name>\n"
                xml += "    <difficult>0</difficult>\n    <bndbox>\n"
                xml += "      <xmin>\(ExportFiles.number(box.xmin))</xmin>\n      <ymin>\(ExportFiles.number(box.ymin))</ymin>\n"
                xml += "      <xmax>\(ExportFiles.number(box.xmax))</xmax>\n      <ymax>\(ExportFiles.number(box.ymax))</ymax>\n"
                xml += "    </bndbox>\n  </object>\n"
            }
            xml += "</annotation>\n"
            try ExportFiles.write(Data(xml.utf8), to: folder.appendingPathComponent("Annotations/\(stem).xml"))
            if let split = image.split { splits[split, default: []].append(stem) }
        }
        for (split, stems) in splits {
            try ExportFiles.write(Data((stems.joined(separator: "\n") + "\n").utf8),
                                  to: folder.appendingPathComponent("ImageSets/Main/\(split).txt"))
        }
        try ExportFiles.write(Data((dataset.categories.map(\.name).joined(separator: "\n") + "\n").utf8),
                              to: folder.appendingPathComponent("labels.txt"))
    }
}
