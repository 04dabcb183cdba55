import Foundation
import Tensors

extension ClassificationSet {
    /// Decodes labelled images into one-size planar 8-bit pixels: converted to `channels` (gray
    /// or RGB) and resized to height×width. Decoding runs on the engine's worker threads. An
    /// image that cannot be decoded, or lacks a label, fails the whole set naming it (no
    /// partial sets).
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
        // The first failure of each chunk (chunks cover increasing index ranges).
        var failures = [(Int, ImageError)?](repeating: nil, count: Parallel.threads)
        pixels.withUnsafeMutableBufferPointer { buffer in
            failures.withUnsafeMutableBufferPointer { failed in
                Parallel.forEachChunk(images.count) { chunk, range in
                    for i in range {
                        do throws(ImageError) {
                            let decoded = try dataset.pixels(of: images[i])
                            let ready = ImageOps.planar(ImageOps.resize(ImageOps.convert(decoded, channels: channels), width: width, height: height))
                            ready.withUnsafeBufferPointer { (buffer.baseAddress! + i * size).update(from: $0.baseAddress!, count: size) }
                        } catch {
                            failed[chunk] = (i, error)
                            return
                        }
                    }
                }
            }
        }
        if let (i, error) = failures.compactMap({ $0 }).min(by: { $0.0 < $1.0 }) {
            throw .corrupt(item: images[i].file, reason: error.description)
        }
        self.init(pixels: pixels, labels: labels, count: images.count, channels: channels, height: height, width: width,
                  classNames: dataset.categories.map(\.name))
    }
}
