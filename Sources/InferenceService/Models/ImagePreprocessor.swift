import Foundation
import VisionData
import VisionModels

/// Turns an encoded PNG/JPEG into the model's input (C, H, W) floats, as the package's
/// manifest says: channels converted, resized (stretch) or letterboxed, normalised. The size is
/// read from the header and checked against `maxPixels` before any pixel is decoded.
public struct ImagePreprocessor: Sendable {
    public let spec: ModelManifest.Preprocessing
    public let maxPixels: Int

    public init(spec: ModelManifest.Preprocessing, maxPixels: Int) {
        self.spec = spec
        self.maxPixels = maxPixels
    }

    /// One prepared image: the input values, the original size, and where the letterbox put it.
    public struct Prepared: Sendable {
        public var values: [Float]
        public var width: Int
        public var height: Int
        public var letterbox: ImageOps.Letterbox
    }

    public var valuesPerImage: Int { spec.channels * spec.height * spec.width }

    /// `item` names the image in errors (e.g. "images[2]", "image_bytes[0]").
    public func prepare(_ data: Data, item: String, field: String = "encoded") throws(ServeError) -> Prepared {
        guard !data.isEmpty else { throw .invalidArgument(item: item, field: field, message: "the image is empty") }
        let size: (width: Int, height: Int)
        do { size = try ImageCodec.size(data, name: item) } catch {
            throw .invalidArgument(item: item, field: field, message: "not a decodable PNG or JPEG: \(error)")
        }
        guard size.width * size.height <= maxPixels else {
            throw .invalidArgument(item: item, field: field,
                                   message: "\(size.width)×\(size.height) is \(size.width * size.height) pixels, over the limit of \(maxPixels)")
        }
        let decoded: PixelImage
        do { decoded = try ImageCodec.decode(data, name: item) } catch {
            throw .invalidArgument(item: item, field: field, message: "not a decodable PNG or JPEG: \(error)")
        }
        return prepare(decoded)
    }

    /// Prepares a decoded image.
    public func prepare(_ decoded: PixelImage) -> Prepared {
        let image = ImageOps.convert(decoded, channels: spec.channels)
        let sized: PixelImage, box: ImageOps.Letterbox
        if image.width == spec.width && image.height == spec.height {
            (sized, box) = (image, .identity)
        } else if spec.resize == "letterbox" {
            (sized, box) = ImageOps.letterbox(image, width: spec.width, height: spec.height, fill: UInt8(clamping: spec.padValue ?? 114))
        } else {
            sized = ImageOps.resize(image, width: spec.width, height: spec.height)
            box = .identity
        }
        var values = [Float](repeating: 0, count: valuesPerImage)
        values.withUnsafeMutableBufferPointer { ImageOps.normalize(sized, mean: spec.mean, std: spec.std, into: $0) }
        return Prepared(values: values, width: decoded.width, height: decoded.height, letterbox: box)
    }
}
