@testable import Tensors
@testable import VisionData
@testable import VisionModels

/// A few synthetic shapes images as a YOLOX training batch: pixels scaled to [-0.5, 0.5] in an
/// (N, 3, size, size) tensor and each image's boxes as SimOTA truths.
struct ShapesBatch {
    let samples: [(image: PixelImage, boxes: [LabeledBox])]
    let images: Tensor
    let truths: [[SimOTAAssigner.Truth]]
    static let classes = ShapesGenerator.classNames.count

    init(count: Int, size: Int, seed: UInt64) throws {
        let generator = ShapesGenerator(size: size, objects: 1...2, scale: 0.3...0.5)
        samples = (0..<count).map { generator.sample(seed: seed, index: $0) }
        var pixels = [Float]()
        for s in samples { pixels += ImageOps.planar(s.image).map { Float($0) / 255 - 0.5 } }
        images = try Tensor(shape: [count, 3, size, size], values: pixels)
        truths = samples.map { $0.boxes.map(SimOTAAssigner.Truth.init) }
    }
}
