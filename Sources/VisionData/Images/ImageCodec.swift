import CImageCodecs
import Foundation

/// Decodes PNG and JPEG (EXIF orientation applied) and encodes them, with typed errors that
/// name the file.
public enum ImageCodec {
    /// Reads and decodes an image file.
    public static func decode(file url: URL) throws(ImageError) -> PixelImage {
        guard let data = try? Data(contentsOf: url) else { throw .missingFile(file: url.path) }
        return try decode(data, name: url.path)
    }

    /// Decodes encoded bytes; `name` is used in errors.
    public static func decode(_ data: Data, name: String) throws(ImageError) -> PixelImage {
        let result: Result<PixelImage, ImageError> = data.withUnsafeBytes { raw in
            guard let format = ImageFormat.sniff(raw) else {
                return .failure(.unsupportedFormat(file: name, reason: ImageFormat.describeUnknown(raw)))
            }
            let base = raw.bindMemory(to: UInt8.self).baseAddress!
            var image = vfi_image()
            var message = [CChar](repeating: 0, count: 256)
            let rc: Int32 = switch format {
            case .png: vfi_png_decode(base, raw.count, &image, &message, message.count)
            case .jpeg: vfi_jpeg_decode(base, raw.count, &image, &message, message.count)
            }
            let reason = text(message)
            guard Int(rc) == VFI_OK else { return .failure(error(rc, name: name, reason: reason)) }
            defer { vfi_free(image.pixels) }
            let count = Int(image.width) * Int(image.height) * Int(image.channels)
            let pixels = [UInt8](UnsafeBufferPointer(start: image.pixels, count: count))
            var decoded = PixelImage(width: Int(image.width), height: Int(image.height), channels: Int(image.channels),
                                     pixels: pixels)
            if format == .jpeg { decoded = ExifOrientation.apply(ExifOrientation.read(raw), to: decoded) }
            return .success(decoded)
        }
        return try result.get()
    }

    /// The width and height from the file header without decoding pixels (PNG IHDR, JPEG SOF),
    /// after EXIF orientation.
    public static func size(_ data: Data, name: String) throws(ImageError) -> (width: Int, height: Int) {
        let result: Result<(width: Int, height: Int), ImageError> = data.withUnsafeBytes { b in
            switch ImageFormat.sniff(b) {
            case .png:
                guard b.count >= 24 else { return .failure(.truncated(file: name, reason: "header ends early")) }
                let w = Int(b[16]) << 24 | Int(b[17]) << 16 | Int(b[18]) << 8 | Int(b[19])
                let h = Int(b[20]) << 24 | Int(b[21]) << 16 | Int(b[22]) << 8 | Int(b[23])
                return w > 0 && h > 0 ? .success((w, h)) : .failure(.zeroSize(file: name))
            case .jpeg:
                var o = 2
                while o + 9 < b.count, b[o] == 0xFF {
                    let marker = b[o + 1]
                    let length = Int(b[o + 2]) << 8 | Int(b[o + 3])
                    if (0xC0...0xCF).contains(marker), marker != 0xC4, marker != 0xC8, marker != 0xCC {
                        let h = Int(b[o + 5]) << 8 | Int(b[o + 6]), w = Int(b[o + 7]) << 8 | Int(b[o + 8])
                        guard w > 0 && h > 0 else { return .failure(.zeroSize(file: name)) }
                        return .success(ExifOrientation.read(b) >= 5 ? (h, w) : (w, h))
                    }
                    guard length >= 2 else { break }
                    o += 2 + length
                }
                return .failure(.corrupt(file: name, reason: "no frame header (SOF) found"))
            case nil:
                return .failure(.unsupportedFormat(file: name, reason: ImageFormat.describeUnknown(b)))
            }
        }
        return try result.get()
    }

    /// PNG bytes of an image (any channel count).
    public static func encodePNG(_ image: PixelImage, name: String = "image") throws(ImageError) -> Data {
        try encode(image, name: name) { p, out, size, message in
            vfi_png_encode(p, Int32(image.width), Int32(image.height), Int32(image.channels), out, size, message, 256)
        }
    }

    /// JPEG bytes of a gray or RGB image (alpha is dropped).
    public static func encodeJPEG(_ image: PixelImage, quality: Int = 92, name: String = "image") throws(ImageError) -> Data {
        let source = image.channels == 2 || image.channels == 4 ? ImageOps.dropAlpha(image) : image
        return try encode(source, name: name) { p, out, size, message in
            vfi_jpeg_encode(p, Int32(source.width), Int32(source.height), Int32(source.channels), Int32(quality), out, size,
                            message, 256)
        }
    }

    /// Encodes by the file's extension (.png, .jpg/.jpeg) and writes atomically, creating folders.
    public static func write(_ image: PixelImage, to url: URL) throws(ImageError) {
        let data: Data
        switch url.pathExtension.lowercased() {
        case "png": data = try encodePNG(image, name: url.path)
        case "jpg", "jpeg": data = try encodeJPEG(image, name: url.path)
        default: throw .unsupportedFormat(file: url.path, reason: "write .png or .jpg")
        }
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url, options: .atomic)
        } catch {
            throw .encodeFailed(file: url.path, reason: "\(error.localizedDescription)")
        }
    }

    private static func encode(
        _ image: PixelImage, name: String,
        _ body: (UnsafePointer<UInt8>, UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, UnsafeMutablePointer<Int>,
                 UnsafeMutablePointer<CChar>) -> Int32
    ) throws(ImageError) -> Data {
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let rc = image.pixels.withUnsafeBufferPointer { p in body(p.baseAddress!, &out, &size, &message) }
        guard Int(rc) == VFI_OK, let out else {
            let reason = text(message)
            throw .encodeFailed(file: name, reason: reason.isEmpty ? "code \(rc)" : reason)
        }
        defer { vfi_free(out) }
        return Data(bytes: out, count: size)
    }

    /// The C string a codec call wrote into `message`.
    private static func text(_ message: [CChar]) -> String {
        String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func error(_ rc: Int32, name: String, reason: String) -> ImageError {
        switch Int(rc) {
        case VFI_TRUNCATED: .truncated(file: name, reason: reason)
        case VFI_ZERO_SIZE: .zeroSize(file: name)
        case VFI_TOO_LARGE: .tooLarge(file: name)
        default: .corrupt(file: name, reason: reason.isEmpty ? "decoder code \(rc)" : reason)
        }
    }
}
