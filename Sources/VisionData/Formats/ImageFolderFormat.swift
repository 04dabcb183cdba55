import Foundation

/// ImageFolder (torchvision): one folder per class under the root, class names sorted.
/// When the root holds `train/` (and `val/`, `test/`) folders of class folders, each is a split.
enum ImageFolderFormat {
    static func read(_ url: URL, options: DatasetReadOptions) throws(DatasetError) -> DatasetReadResult {
        let view = options.files
        let splitRoots = YOLOFormat.splits.filter { view.isFolder(atPath: url.appendingPathComponent($0).path) }
        let layout: [(split: String?, prefix: String)] = splitRoots.isEmpty ? [(nil, "")] : splitRoots.map { ($0, $0 + "/") }
        var classNames = Set<String>()
        for (_, prefix) in layout {
            for name in subfolders(url.appendingPathComponent(prefix), files: view) { classNames.insert(name) }
        }
        guard !classNames.isEmpty else {
            throw .invalidValue(item: url.path, field: "classes", reason: "no class folders found (expected <root>/<class>/<image>)")
        }
        let sorted = classNames.sorted()
        let categories = sorted.enumerated().map { DatasetCategory(id: $0.offset, name: $0.element) }
        var assembler = DatasetAssembler(root: url, categories: categories, options: options)
        let folders = layout.flatMap { split, prefix in sorted.enumerated().map { (split: split, label: $0.offset, path: prefix + $0.element + "/") } }
        // Each class folder listed and its images examined on every core (an upload's 70,000
        // lookups, or a local folder's decodes), then kept in folder order.
        var examined = [[(file: String, facts: DatasetAssembler.FileFacts?, problem: DatasetProblem?)]](repeating: [], count: folders.count)
        let examiner = assembler
        examined.withUnsafeMutableBufferPointer { buffer in
            // Each iteration writes its own slot only, and all are done before the buffer goes.
            nonisolated(unsafe) let slots = buffer
            DispatchQueue.concurrentPerform(iterations: folders.count) { k in
                let prefix = folders[k].path
                slots[k] = ExportFiles.imageFiles(in: url.appendingPathComponent(prefix), files: view).map { relative in
                    let file = prefix + relative
                    let (facts, problem) = examiner.examine(file: file, item: file)
                    return (file, facts, problem)
                }
            }
        }
        assembler.reserve(examined.reduce(0) { $0 + $1.count })
        var nextId = 1
        for (folder, files) in zip(folders, examined) {
            for (file, facts, problem) in files {
                if let problem { assembler.record(problem) }
                guard let facts else { continue }
                assembler.add(DatasetImage(id: nextId, file: file, width: facts.width, height: facts.height,
                                           digest: facts.digest, label: folder.label, split: folder.split), item: file)
                nextId += 1
            }
        }
        return assembler.result()
    }

    static func write(_ dataset: LabeledDataset, to folder: URL) throws(DatasetError) {
        let useSplits = dataset.images.contains { $0.split != nil }
        for image in dataset.images {
            guard let label = image.label, let name = dataset.categoryName(label) else {
                throw .invalidValue(item: image.file, field: "label", reason: "ImageFolder needs a class label on every image")
            }
            let prefix = useSplits ? (image.split ?? "train") + "/" : ""
            try ExportFiles.place(image, of: dataset, at: folder.appendingPathComponent(prefix + safe(name) + "/" + ExportFiles.flatName(image)))
        }
        // Empty classes still get their folder, so the class list survives the round trip.
        for category in dataset.categories {
            let prefixes = useSplits ? Set(dataset.images.map { ($0.split ?? "train") + "/" }) : [""]
            for prefix in prefixes {
                try? FileManager.default.createDirectory(at: folder.appendingPathComponent(prefix + safe(category.name)),
                                                         withIntermediateDirectories: true)
            }
        }
    }

    static func safe(_ name: String) -> String { name.replacingOccurrences(of: "/", with: "_") }

    static func subfolders(_ url: URL, files: any DatasetFileView) -> [String] {
        (files.contentsOfDirectory(atPath: url.path) ?? [])
            .filter { !$0.hasPrefix(".") && files.isFolder(atPath: url.appendingPathComponent($0).path) }
    }
}
