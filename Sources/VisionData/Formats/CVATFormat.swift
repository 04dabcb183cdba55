import Foundation

/// CVAT for images 1.1 XML: `<annotations>` with `<meta>` labels and one `<image name=…
/// width=… height=… subset=…>` per image holding `<box label xtl ytl xbr ybr rotation>`,
/// `<polygon>` / `<polyline>` / `<points>` (their bounding box) and `<tag label>` (a class
/// label). One `annotations.xml`, or one file per subset (`train.xml`, `val.xml`, …). Images
/// are looked up beside the XML, under `images/<subset>/`, `images/`, then by base name.
enum CVATFormat {
    static func read(_ url: URL, options: DatasetReadOptions) throws(DatasetError) -> DatasetReadResult {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else { throw .missingFile(path: url.path) }
        let files: [URL]
        if isDir.boolValue {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).filter { $0.lowercased().hasSuffix(".xml") }.sorted()
            guard !names.isEmpty else { throw .missingFile(path: url.appendingPathComponent("annotations.xml").path) }
            files = names.map { url.appendingPathComponent($0) }
        } else {
            files = [url]
        }
        let folder = files[0].deletingLastPathComponent()
        var documents: [(name: String, subset: String?, root: XMLTree)] = []
        var labelNames: [String] = []
        var seen = Set<String>()
        func note(_ label: String) { if !label.isEmpty, seen.insert(label).inserted { labelNames.append(label) } }
        for file in files {
            let name = file.lastPathComponent
            guard let data = try? Data(contentsOf: file) else { throw .missingFile(path: file.path) }
            let root: XMLTree
            do { root = try XMLTree.parse(data) } catch { throw .corrupt(item: name, reason: error.reason) }
            guard root.name == "annotations" else { throw .corrupt(item: name, reason: "expected <annotations>, got <\(root.name)>") }
            // Declared labels first, in CVAT's order (task or project meta).
            for holder in [root.child("meta")?.child("task"), root.child("meta")?.child("project"), root.child("meta")?.child("job")] {
                for label in holder?.child("labels")?.all("label") ?? [] { note(label.value("name") ?? "") }
            }
            let stem = (name as NSString).deletingPathExtension
            documents.append((name, stem == "annotations" || stem == "default" ? nil : stem, root))
        }
        for doc in documents {
            for image in doc.root.all("image") {
                for shape in image.children where shape.attributes["label"] != nil { note(shape.attributes["label"]!) }
            }
        }
        let categories = labelNames.enumerated().map { DatasetCategory(id: $0.offset, name: $0.element) }
        let idOf = Dictionary(uniqueKeysWithValues: labelNames.enumerated().map { ($0.element, $0.offset) })
        var assembler = DatasetAssembler(root: folder, categories: categories, options: options)
        var finder = ImageFinder(folder: folder, files: options.files)
        var nextId = 1
        for doc in documents {
            for (n, image) in doc.root.all("image").enumerated() {
                guard let path = image.attributes["name"], !path.isEmpty else {
                    assembler.problem(.malformed, item: "\(doc.name) image[\(n)]", field: "name", reason: "missing")
                    continue
                }
                let subset = image.attributes["subset"].flatMap { $0.isEmpty ? nil : $0 } ?? doc.subset
                let item = "image \(image.attributes["id"] ?? "#\(n)") (\(path))"
                guard let file = finder.locate(path, subset: subset, item: item, assembler: &assembler) else { continue }
                guard let facts = assembler.inspect(file: file, item: item) else { continue }
                if let w = image.attributes["width"].flatMap(Int.init), let h = image.attributes["height"].flatMap(Int.init),
                   w != facts.width || h != facts.height {
                    assembler.problem(.malformed, item: item, field: "width/height", reason: "says \(w)×\(h), the file is \(facts.width)×\(facts.height)")
                    continue
                }
                var boxes: [LabeledBox] = []
                var label: Int?
                var ok = true
                for (k, shape) in image.children.enumerated() {
                    let field = "\(shape.name)[\(k)]"
                    guard ["box", "polygon", "polyline", "points", "tag"].contains(shape.name) else { continue }
                    guard let name = shape.attributes["label"], let id = idOf[name] else {
                        assembler.problem(.malformed, item: item, field: "\(field).label", reason: "missing label")
                        ok = false
                        continue
                    }
                    if shape.name == "tag" { label = id; continue }
                    guard let box = bounds(shape) else {
                        assembler.problem(.malformed, item: item, field: field, reason: "coordinates are missing or not numbers")
                        ok = false
                        continue
                    }
                    boxes.append(LabeledBox(xmin: box.0, ymin: box.1, xmax: box.2, ymax: box.3, category: id))
                }
                guard ok else { continue }
                assembler.add(DatasetImage(id: nextId, file: file, width: facts.width, height: facts.height, digest: facts.digest,
                                           label: label, boxes: boxes, split: COCOFormat.split(ofSubset: subset)), item: item)
                nextId += 1
            }
        }
        return assembler.result()
    }

    /// The axis-aligned extent of a box (rotated about its centre by `rotation` degrees) or of
    /// a shape's `points="x,y;x,y;…"`.
    static func bounds(_ shape: XMLTree) -> (Double, Double, Double, Double)? {
        if shape.name == "box" {
            guard let x1 = shape.attributes["xtl"].flatMap(Double.init), let y1 = shape.attributes["ytl"].flatMap(Double.init),
                  let x2 = shape.attributes["xbr"].flatMap(Double.init), let y2 = shape.attributes["ybr"].flatMap(Double.init) else { return nil }
            let angle = (shape.attributes["rotation"].flatMap(Double.init) ?? 0) * .pi / 180
            guard angle != 0 else { return (x1, y1, x2, y2) }
            let cx = (x1 + x2) / 2, cy = (y1 + y2) / 2
            let corners = [(x1, y1), (x2, y1), (x2, y2), (x1, y2)].map { x, y in
                (cx + (x - cx) * cos(angle) - (y - cy) * sin(angle), cy + (x - cx) * sin(angle) + (y - cy) * cos(angle))
            }
            return (corners.map(\.0).min()!, corners.map(\.1).min()!, corners.map(\.0).max()!, corners.map(\.1).max()!)
        }
        guard let text = shape.attributes["points"] else { return nil }
        var xs: [Double] = [], ys: [Double] = []
        for pair in text.split(separator: ";") {
            let v = pair.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard v.count == 2 else { return nil }
            xs.append(v[0]); ys.append(v[1])
        }
        guard !xs.isEmpty else { return nil }
        return (xs.min()!, ys.min()!, xs.max()!, ys.max()!)
    }

    static func write(_ dataset: LabeledDataset, to folder: URL) throws(DatasetError) {
        var xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<annotations>\n  <version>1.1</version>\n  <meta>\n    <task>\n      <labels>\n"
        for category in dataset.categories {
            xml += "        <label>\n          <name>\(XMLTree.escape(category.name))</name>\n          <type>any</type>\n        </label>\n"
        }
        xml += "      </labels>\n    </task>\n  </meta>\n"
        for (n, image) in dataset.images.enumerated() {
            let name = ExportFiles.flatName(image)
            try ExportFiles.place(image, of: dataset, at: folder.appendingPathComponent("images/\(name)"))
            xml += "  <image id=\"\(n)\" name=\"\(XMLTree.escape(name))\" width=\"\(image.width)\" height=\"\(image.height)\""
            if let split = image.split { xml += " subset=\"\(XMLTree.escape(split))\"" }
            xml += ">\n"
            if let label = image.label {
                xml += "    <tag label=\"\(XMLTree.escape(dataset.categoryName(label) ?? "\(label)"))\" source=\"manual\"></tag>\n"
            }
            for box in image.boxes {
                xml += "    <box label=\"\(XMLTree.escape(dataset.categoryName(box.category) ?? "\(box.category)"))\" source=\"manual\" occluded=\"0\""
                xml += " xtl=\"\(ExportFiles.number(box.xmin))\" ytl=\"\(ExportFiles.number(box.ymin))\" xbr=\"\(ExportFiles.number(box.xmax))\" ybr=\"\(ExportFiles.number(box.ymax))\" z_order=\"0\"></box>\n"
            }
            xml += "  </image>\n"
        }
        xml += "</annotations>\n"
        try ExportFiles.write(Data(xml.utf8), to: folder.appendingPathComponent("annotations.xml"))
    }
}

/// Finds an annotation's image in an upload: as written, under `images/<subset>/` or
/// `images/`, else the one file with that base name (several is ambiguous).
struct ImageFinder {
    let folder: URL
    let files: any DatasetFileView
    lazy var byBaseName: [String: [String]] = Dictionary(grouping: ExportFiles.imageFiles(in: folder, files: files)) { ($0 as NSString).lastPathComponent }

    init(folder: URL, files: any DatasetFileView) {
        self.folder = folder
        self.files = files
    }

    mutating func locate(_ path: String, subset: String?, item: String, assembler: inout DatasetAssembler) -> String? {
        let clean = String(path.drop { $0 == "/" })
        var candidates = [clean]
        if let subset { candidates.append("images/\(subset)/\(clean)") }
        candidates.append("images/\(clean)")
        for candidate in candidates where files.fileExists(atPath: folder.appendingPathComponent(candidate).path) {
            return candidate
        }
        let base = (clean as NSString).lastPathComponent
        let matches = byBaseName[base] ?? []
        if matches.count == 1 { return matches[0] }
        if matches.count > 1 {
            if let subset, case let inSubset = matches.filter({ $0.hasPrefix("images/\(subset)/") }), inSubset.count == 1 { return inSubset[0] }
            assembler.problem(.missingImage, item: item, field: "file_name",
                              reason: "\(path) is not in the upload and its base name matches \(matches.count) files (\(matches.prefix(4).joined(separator: ", "))): ambiguous")
            return nil
        }
        assembler.problem(.missingImage, item: item, field: "file", reason: "\(path) not found under \(folder.path) (nor any file named \(base))")
        return nil
    }
}
