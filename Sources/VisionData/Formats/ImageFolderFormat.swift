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
        // lookups, or a local folder's decodes), each image made there, then kept in folder
        // order: ids are numbered as they are kept.
        var examined = [[(image: DatasetImage?, problem: DatasetProblem?)]](repeating: [], count: folders.count)
        let examiner = assembler
        examined.withUnsafeMutableBufferPointer { buffer in
            // Each iteration writes its own slot only, and all are done before the buffer goes.
            nonisolated(unsafe) let slots = buffer
            DispatchQueue.concurrentPerform(iterations: folders.count) { k in
                let folder = folders[k]
                slots[k] = ExportFiles.imageFiles(in: url.appendingPathComponent(folder.path), files: view).map { relative in
                    let file = folder.path + relative
                    let (facts, problem) = examiner.examine(file: file, item: file)
                    return (facts.map { DatasetImage(id: 0, file: file, width: $0.width, height: $0.height, digest: $0.digest,
                                                     label: folder.label, split: folder.split) }, problem)
                }
            }
        }
        assembler.reserve(examined.reduce(0) { $0 + $1.count })
        var nextId = 1
        for files in examined {
            for (image, problem) in files {
                if let problem { assembler.record(problem) }
                guard var image else { continue }
                image.id = nextId
                assembler.add(image, item: image.file)
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
