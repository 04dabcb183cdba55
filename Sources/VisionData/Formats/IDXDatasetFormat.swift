import Foundation

/// IDX (MNIST / Fashion-MNIST) as a dataset: `*images-idx3-ubyte[.gz]` with the matching
/// `*labels-idx1-ubyte[.gz]` in a folder; `train-*` and `t10k-*` pairs become the train and
/// test splits. Pixels stay in memory (`DatasetImage.embedded`). Class names come from a
/// `classes.txt` beside them, else the digits.
enum IDXDatasetFormat {
    static func read(_ url: URL, options: DatasetReadOptions) throws(DatasetError) -> DatasetReadResult {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: url.path) else { throw .missingFile(path: url.path) }
        let imageFiles = names.filter { $0.contains("images-idx3-ubyte") }.sorted().reversed()  // train before t10k
        guard !imageFiles.isEmpty else {
            throw .missingFile(path: url.appendingPathComponent("train-images-idx3-ubyte.gz").path)
        }
        var classNames: [String] = []
        if let text = try? String(contentsOf: url.appendingPathComponent("classes.txt"), encoding: .utf8) {
            classNames = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        var sets: [(split: String, set: ClassificationSet, name: String)] = []
        for imageName in imageFiles {
            let labelName = imageName.replacingOccurrences(of: "images-idx3", with: "labels-idx1")
            guard names.contains(labelName) else { throw .missingFile(path: url.appendingPathComponent(labelName).path) }
            let set: ClassificationSet
            do {
                set = try IDXReader.classification(images: url.appendingPathComponent(imageName),
                                                   labels: url.appendingPathComponent(labelName), classNames: nil)
            } catch let error as DatasetError {
                throw error
            } catch {
                throw .corrupt(item: imageName, reason: "\(error)")
            }
            sets.append((imageName.hasPrefix("t10k") || imageName.hasPrefix("test") ? "test" : "train", set, imageName))
        }
        let top = sets.flatMap { $0.set.labels }.max().map(Int.init) ?? 0
        if classNames.isEmpty { classNames = (0...top).map(String.init) }
        let categories = classNames.enumerated().map { DatasetCategory(id: $0.offset, name: $0.element) }
        var assembler = DatasetAssembler(root: url, categories: categories, options: options)
        var nextId = 1
        for (split, set, name) in sets {
            let stem = name.replacingOccurrences(of: ".gz", with: "")
            for i in 0..<set.count {
                let start = i * set.imageSize
                let pixels = Array(set.pixels[start..<(start + set.imageSize)])
                let image = PixelImage(width: set.width, height: set.height, channels: 1, pixels: pixels)
                let digest = options.computeDigests ? SHA256Digest.of(Data(pixels)) : ""
                assembler.add(DatasetImage(id: nextId, file: "\(stem)#\(i)", width: set.width, height: set.height, digest: digest,
                                           label: Int(set.labels[i]), split: split, embedded: image),
                              item: "\(name)[\(i)]")
                nextId += 1
            }
        }
        return assembler.result()
    }

    /// Writes gray images of one size: train-* for every split but "test", t10k-* for "test".
    static func write(_ dataset: LabeledDataset, to folder: URL) throws(DatasetError) {
        guard let first = dataset.images.first else {
            throw .invalidValue(item: folder.path, field: "images", reason: "IDX cannot hold an empty dataset")
        }
        let index = dataset.classIndex
        guard dataset.categories.count <= 256 else {
            throw .invalidValue(item: folder.path, field: "categories", reason: "IDX labels are bytes: at most 256 classes")
        }
        var groups: [String: (pixels: [UInt8], labels: [UInt8])] = [:]
        for image in dataset.images {
            let pixels: PixelImage
            do { pixels = ImageOps.convert(try dataset.pixels(of: image), channels: 1) } catch {
                throw .corrupt(item: image.file, reason: error.description)
            }
            guard pixels.width == first.width, pixels.height == first.height else {
                throw .invalidValue(item: image.file, field: "size",
                                    reason: "IDX holds one image size: \(pixels.width)×\(pixels.height) differs from \(first.width)×\(first.height)")
            }
            guard let label = image.label, let i = index[label] else {
                throw .invalidValue(item: image.file, field: "label", reason: "IDX needs a class label on every image")
            }
            let prefix = image.split == "test" ? "t10k" : "train"
            groups[prefix, default: ([], [])].pixels += pixels.pixels
            groups[prefix, default: ([], [])].labels.append(UInt8(i))
        }
        for (prefix, group) in groups {
            try writePair(stem: prefix, pixels: group.pixels, labels: group.labels, height: first.height, width: first.width, to: folder)
        }
        try ExportFiles.write(Data((dataset.categories.map(\.name).joined(separator: "\n") + "\n").utf8),
                              to: folder.appendingPathComponent("classes.txt"))
    }

    /// `<stem>-images-idx3-ubyte` and `<stem>-labels-idx1-ubyte` (uncompressed) for gray images of one size.
    static func writePair(stem: String, pixels: [UInt8], labels: [UInt8], height: Int, width: Int, to folder: URL) throws(DatasetError) {
        try ExportFiles.write(header(rank: 3, [labels.count, height, width]) + Data(pixels),
                              to: folder.appendingPathComponent("\(stem)-images-idx3-ubyte"))
        try ExportFiles.write(header(rank: 1, [labels.count]) + Data(labels), to: folder.appendingPathComponent("\(stem)-labels-idx1-ubyte"))
    }

    private static func header(rank: Int, _ dims: [Int]) -> Data {
        var bytes: [UInt8] = [0, 0, 0x08, UInt8(rank)]
        for d in dims { bytes += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
        return Data(bytes)
    }
}

extension ClassificationSet {
    /// Writes this gray set as IDX, the way MNIST ships: `<stem>-images-idx3-ubyte` and
    /// `<stem>-labels-idx1-ubyte` (stems `train` and `t10k` are the IDX format's two splits).
    public func writeIDX(stem: String, to folder: URL) throws(DatasetError) {
        guard channels == 1, labels.allSatisfy({ (0..<256).contains($0) }) else {
            throw .invalidValue(item: folder.path, field: "images", reason: "IDX holds gray images with byte labels")
        }
        try IDXDatasetFormat.writePair(stem: stem, pixels: pixels, labels: labels.map { UInt8($0) }, height: height, width: width, to: folder)
    }
}
