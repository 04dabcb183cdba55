import Foundation

extension ClassificationSet {
    /// Decodes labelled images into one-size planar 8-bit pixels: converted to `channels` (gray
    /// or RGB) and resized to height×width. Decoding runs on every core. An image that cannot
    /// be decoded, or lacks a label, fails the whole set naming it (no partial sets).
    public init(dataset: LabeledDataset, images: [DatasetImage], channels: Int, height: Int, width: Int) throws(DatasetError) {
        guard channels == 1 || channels == 3 else {
            throw .invalidValue(item: dataset.root.path, field: "data.input.channels", reason: "images load as 1 (gray) or 3 (RGB) channels, got \(channels)")
        }
        let classIndex = dataset.classIndex
        var labels = [Int32](repeating: 0, count: images.count)
        for (i, image) in images.enumerated() {
            guard let label = image.label, let index = classIndex[label] else {
                throw .invalidValue(item: image.file, field: "label", reason: "classification needs a class label on every image")
            }
            labels[i] = Int32(index)
        }
        let size = channels * height * width
        var pixels = [UInt8](repeating: 0, count: images.count * size)
        let failures = FailureList()
        pixels.withUnsafeMutableBufferPointer { buffer in
            let base = UnsafeSendablePointer(buffer.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: images.count) { i in
                do {
                    let decoded = try dataset.pixels(of: images[i])
                    let ready = ImageOps.resize(ImageOps.convert(decoded, channels: channels), width: width, height: height)
                    let planar = ImageOps.planar(ready)
                    planar.withUnsafeBufferPointer { src in
                        (base.pointer + i * size).update(from: src.baseAddress!, count: size)
                    }
                } catch let error as ImageError {
                    failures.add(i, error)
                } catch {
                    failures.add(i, .corrupt(file: images[i].file, reason: "\(error)"))
                }
            }
        }
        if let (i, error) = failures.first {
            throw .corrupt(item: images[i].file, reason: error.description)
        }
        self.init(pixels: pixels, labels: labels, count: images.count, channels: channels, height: height, width: width,
                  classNames: dataset.categories.map(\.name))
    }
}

/// The first decode failure by index, collected from worker threads.
private final class FailureList: @unchecked Sendable {
    private let lock = NSLock()
    private var failures: [(Int, ImageError)] = []

    func add(_ index: Int, _ error: ImageError) {
        lock.lock()
        failures.append((index, error))
        lock.unlock()
    }

    var first: (Int, ImageError)? {
        lock.lock()
        defer { lock.unlock() }
        return failures.min { $0.0 < $1.0 }
    }
}

/// A raw pointer handed to worker threads that write disjoint ranges.
private struct UnsafeSendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<UInt8>
    init(_ pointer: UnsafeMutablePointer<UInt8>) { self.pointer = pointer }
}
