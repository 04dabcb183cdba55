import Foundation

/// The IDX format of MNIST and Fashion-MNIST: a big-endian header (magic 0x0000 08 NN for
/// unsigned bytes and NN dimensions, then the sizes) followed by the raw values. Files may be
/// gzip-compressed.
public enum IDXReader {
    /// Reads an IDX file of unsigned bytes: its dimensions and values.
    public static func read(_ url: URL) throws -> (dimensions: [Int], values: [UInt8]) {
        guard let raw = try? Data(contentsOf: url) else { throw DatasetError.missingFile(path: url.path) }
        let data = try Gzip.decompress(raw, name: url.lastPathComponent)
        let name = url.lastPathComponent
        guard data.count >= 4 else { throw DatasetError.corrupt(item: name, reason: "shorter than the 4-byte IDX magic") }
        let bytes = [UInt8](data)
        guard bytes[0] == 0, bytes[1] == 0 else { throw DatasetError.corrupt(item: name, reason: "bad IDX magic") }
        guard bytes[2] == 0x08 else {
            throw DatasetError.corrupt(item: name, reason: "IDX type 0x\(String(bytes[2], radix: 16)) is not unsigned bytes (0x08)")
        }
        let rank = Int(bytes[3])
        guard rank >= 1, bytes.count >= 4 + 4 * rank else { throw DatasetError.corrupt(item: name, reason: "header truncated") }
        var dims: [Int] = []
        for d in 0..<rank {
            let o = 4 + 4 * d
            dims.append(Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3]))
        }
        let count = dims.reduce(1, *)
        let start = 4 + 4 * rank
        guard bytes.count - start == count else {
            throw DatasetError.corrupt(item: name, reason: "holds \(bytes.count - start) values, header says \(count) (truncated?)")
        }
        return (dims, Array(bytes[start...]))
    }

    /// An image file (N, H, W) and its label file (N) as a classification set. With `classNames`
    /// nil, labels are not checked (the caller reports unknown ones per item) and the classes
    /// are named by their index.
    public static func classification(images: URL, labels: URL, classNames: [String]?) throws -> ClassificationSet {
        let (imageDims, pixels) = try read(images)
        let (labelDims, labelValues) = try read(labels)
        guard imageDims.count == 3 else {
            throw DatasetError.corrupt(item: images.lastPathComponent, reason: "expected (N, H, W), got \(imageDims)")
        }
        guard labelDims == [imageDims[0]] else {
            throw DatasetError.corrupt(item: labels.lastPathComponent, reason: "\(labelDims) labels for \(imageDims[0]) images")
        }
        let names = classNames ?? (0...Int(labelValues.max() ?? 0)).map(String.init)
        if let bad = labelValues.firstIndex(where: { Int($0) >= names.count }) {
            throw DatasetError.invalidValue(item: "\(labels.lastPathComponent)[\(bad)]", field: "label",
                                            reason: "\(labelValues[bad]) is not one of \(names.count) classes")
        }
        return ClassificationSet(pixels: pixels, labels: labelValues.map(Int32.init), count: imageDims[0], channels: 1,
                                 height: imageDims[1], width: imageDims[2], classNames: names)
    }

    /// Fashion-MNIST's ten classes, in label order.
    public static let fashionMNISTClasses = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                             "Sneaker", "Bag", "Ankle boot"]

    /// Fashion-MNIST from a directory holding the four standard files (Debian's
    /// dataset-fashion-mnist installs them in /usr/share/datasets/fashion-mnist).
    public static func fashionMNIST(directory: URL) throws -> (train: ClassificationSet, test: ClassificationSet) {
        func file(_ stem: String) -> URL {
            let gz = directory.appendingPathComponent(stem + ".gz")
            return FileManager.default.fileExists(atPath: gz.path) ? gz : directory.appendingPathComponent(stem)
        }
        let train = try classification(images: file("train-images-idx3-ubyte"), labels: file("train-labels-idx1-ubyte"),
                                       classNames: fashionMNISTClasses)
        let test = try classification(images: file("t10k-images-idx3-ubyte"), labels: file("t10k-labels-idx1-ubyte"),
                                      classNames: fashionMNISTClasses)
        return (train, test)
    }
}
