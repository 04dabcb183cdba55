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
        var nextId = 1
        for (split, prefix) in layout {
            for (label, name) in sorted.enumerated() {
                let folder = url.appendingPathComponent(prefix + name)
                for relative in ExportFiles.imageFiles(in: folder, files: view) {
                    let file = prefix + name + "/" + relative
                    guard let facts = assembler.inspect(file: file, item: file) else { continue }
                    assembler.add(DatasetImage(id: nextId, file: file, width: facts.width, height: facts.height,
                                               digest: facts.digest, label: label, split: split), item: file)
                    nextId += 1
                }
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
