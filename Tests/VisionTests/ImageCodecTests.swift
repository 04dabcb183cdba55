import CZlib
import Foundation
import XCTest
@testable import VisionData

final class ImageCodecTests: XCTestCase {
    /// A deterministic test pattern.
    static func pattern(width: Int, height: Int, channels: Int, seed: Int = 0) -> PixelImage {
        var image = PixelImage(width: width, height: height, channels: channels)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels { image[x, y, c] = UInt8((x * 37 + y * 11 + c * 71 + seed * 13) & 255) }
            }
        }
        return image
    }

    func testPNGRoundTripIsExactForEveryChannelCount() throws {
        for channels in 1...4 {
            let image = Self.pattern(width: 13, height: 7, channels: channels)
            let data = try ImageCodec.encodePNG(image)
            XCTAssertEqual(ImageCodec.size(data), (13, 7))
            XCTAssertEqual(try ImageCodec.decode(data, name: "p.png"), image, "channels \(channels)")
        }
    }

    func testJPEGRoundTripIsCloseForGrayAndRGB() throws {
        for channels in [1, 3] {
            // Smooth content: JPEG's error stays small.
            var image = PixelImage(width: 48, height: 32, channels: channels)
            for y in 0..<32 { for x in 0..<48 { for c in 0..<channels { image[x, y, c] = UInt8(x * 3 + y * 2 + c * 10) } } }
            let data = try ImageCodec.encodeJPEG(image, quality: 95)
            let back = try ImageCodec.decode(data, name: "p.jpg")
            XCTAssertEqual(back.channels, channels)
            XCTAssertEqual(back.width, 48)
            let meanError = zip(back.pixels, image.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +) / image.pixels.count
            XCTAssertLessThanOrEqual(meanError, 3, "channels \(channels)")
        }
        // RGBA drops alpha.
        XCTAssertEqual(try ImageCodec.decode(ImageCodec.encodeJPEG(Self.pattern(width: 8, height: 8, channels: 4)), name: "a").channels, 3)
    }

    func testSixteenBitPNGScalesToEightBits() throws {
        let width = 4, height = 2
        let samples: [UInt16] = [0, 0x1234, 0x8080, 0xFFFF, 0x00FF, 0x7F00, 0xABCD, 0x0100]
        var raw: [UInt8] = []
        for y in 0..<height {
            raw.append(0)  // filter: none
            for x in 0..<width { let v = samples[y * width + x]; raw += [UInt8(v >> 8), UInt8(v & 255)] }
        }
        let data = Self.png(width: width, height: height, bitDepth: 16, colorType: 0, raw: raw)
        let image = try ImageCodec.decode(data, name: "deep.png")
        XCTAssertEqual(image.channels, 1)
        for (i, v) in samples.enumerated() {
            let expected = (Double(v) * 255 / 65535).rounded()
            XCTAssertEqual(Double(image.pixels[i]), expected, accuracy: 1, "sample \(i)")
        }
    }

    func testEXIFOrientationTurnsJPEGUpright() throws {
        // Stored 32×16: left half black, right half white. Orientation 6 = rotate 90° clockwise.
        var image = PixelImage(width: 32, height: 16, channels: 1)
        for y in 0..<16 { for x in 16..<32 { image[x, y, 0] = 255 } }
        let plain = try ImageCodec.encodeJPEG(image, quality: 95)
        let rotated = Self.withOrientation(plain, 6)
        XCTAssertEqual(ExifOrientation.read(rotated.withUnsafeBytes { $0 }), 6)
        let upright = try ImageCodec.decode(rotated, name: "r.jpg")
        XCTAssertEqual(upright.width, 16)
        XCTAssertEqual(upright.height, 32)
        XCTAssertLessThan(upright[8, 4, 0], 30)  // stored left (black) is now the top
        XCTAssertGreaterThan(upright[8, 28, 0], 225)
        XCTAssertEqual(ImageCodec.size(rotated), (16, 32))
        // Orientation 3 = 180°: black moves to the right.
        let turned = try ImageCodec.decode(Self.withOrientation(plain, 3), name: "t.jpg")
        XCTAssertEqual(turned.width, 32)
        XCTAssertGreaterThan(turned[4, 8, 0], 225)
        XCTAssertLessThan(turned[28, 8, 0], 30)
    }

    func testCorruptTruncatedUnsupportedZeroSizeAndMissingFilesGetTypedErrors() throws {
        let png = try ImageCodec.encodePNG(Self.pattern(width: 64, height: 64, channels: 3))
        let jpeg = try ImageCodec.encodeJPEG(Self.pattern(width: 64, height: 64, channels: 3))
        assertError(try ImageCodec.decode(png.prefix(png.count / 2), name: "half.png")) {
            guard case .truncated(let file, _) = $0 else { return false }
            return file == "half.png"
        }
        assertError(try ImageCodec.decode(jpeg.prefix(jpeg.count / 2), name: "half.jpg")) {
            if case .truncated("half.jpg", _) = $0 { return true }
            return false
        }
        var flipped = png
        flipped[png.count / 2] ^= 0xFF  // inside IDAT: CRC or zlib error
        assertError(try ImageCodec.decode(flipped, name: "bad.png")) {
            if case .corrupt("bad.png", _) = $0 { return true }
            return false
        }
        assertError(try ImageCodec.decode(Data("GIF89a....".utf8), name: "x.gif")) {
            if case .unsupportedFormat("x.gif", let reason) = $0 { return reason.contains("GIF") }
            return false
        }
        assertError(try ImageCodec.decode(Data(), name: "empty.png")) {
            if case .unsupportedFormat("empty.png", _) = $0 { return true }
            return false
        }
        let zero = Self.png(width: 0, height: 5, bitDepth: 8, colorType: 0, raw: [])
        assertError(try ImageCodec.decode(zero, name: "zero.png")) { $0 == .zeroSize(file: "zero.png") }
        assertError(try ImageCodec.decode(file: URL(fileURLWithPath: "/nonexistent/a.png"))) {
            $0 == .missingFile(file: "/nonexistent/a.png")
        }
        XCTAssertTrue(ImageError.zeroSize(file: "zero.png").description.contains("zero.png"))
    }

    func testResizeCropLetterboxFlipAndNormalise() throws {
        // 2×1 gray [0, 200] → 4×1 with half-pixel centres: 0, 50, 150, 200.
        let small = PixelImage(width: 2, height: 1, channels: 1, pixels: [0, 200])
        XCTAssertEqual(ImageOps.resize(small, width: 4, height: 1).pixels, [0, 50, 150, 200])
        // Downscaling a constant image keeps it constant.
        let flat = PixelImage(width: 10, height: 6, channels: 3, fill: 77)
        XCTAssertEqual(Set(ImageOps.resize(flat, width: 3, height: 5).pixels), [77])
        // Crop with a part outside is filled.
        let p = Self.pattern(width: 5, height: 4, channels: 1)
        let c = ImageOps.crop(p, x: 3, y: -1, width: 3, height: 2, fill: 9)
        XCTAssertEqual(c.pixels, [9, 9, 9, p[3, 0, 0], p[4, 0, 0], 9])
        // Letterbox a 40×20 image into 32×32: scale 0.8, 32×16 placed 8 rows down.
        let (boxed, place) = ImageOps.letterbox(PixelImage(width: 40, height: 20, channels: 3, fill: 200), width: 32, height: 32)
        XCTAssertEqual(place, ImageOps.Letterbox(scale: 0.8, padX: 0, padY: 8))
        XCTAssertEqual(boxed[0, 7, 0], 114)
        XCTAssertEqual(boxed[0, 8, 0], 200)
        XCTAssertEqual(boxed[31, 23, 2], 200)
        XCTAssertEqual(boxed[31, 24, 2], 114)
        // Flip twice is the identity; once mirrors.
        let f = ImageOps.flipHorizontal(p)
        XCTAssertEqual(f[0, 2, 0], p[4, 2, 0])
        XCTAssertEqual(ImageOps.flipHorizontal(f), p)
        // Gray ↔ RGB.
        XCTAssertEqual(ImageOps.convert(PixelImage(width: 1, height: 1, channels: 3, pixels: [255, 0, 0]), channels: 1).pixels, [76])
        // Normalise to planar floats.
        let rgb = PixelImage(width: 1, height: 2, channels: 3, pixels: [255, 0, 51, 0, 255, 102])
        var out = [Float](repeating: 0, count: 6)
        out.withUnsafeMutableBufferPointer { ImageOps.normalize(rgb, mean: [0.5, 0.5, 0], std: [0.5, 0.5, 1], into: $0) }
        for (a, b) in zip(out, [Float(1), -1, -1, 1, 0.2, 0.4]) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    // MARK: helpers

    func assertError<T>(_ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line,
                        _ matches: (ImageError) -> Bool) {
        do {
            _ = try body()
            XCTFail("no error", file: file, line: line)
        } catch let error as ImageError {
            XCTAssertTrue(matches(error), "unexpected \(error)", file: file, line: line)
        } catch {
            XCTFail("untyped \(error)", file: file, line: line)
        }
    }

    /// A PNG built by hand (for depths and sizes the encoder does not write).
    static func png(width: Int, height: Int, bitDepth: UInt8, colorType: UInt8, raw: [UInt8]) -> Data {
        func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let typed = Array(type.utf8) + body
            let crc = typed.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
            return be32(body.count) + typed + be32(Int(crc))
        }
        var compressed = [UInt8](repeating: 0, count: raw.count + 64)
        var length = uLongf(compressed.count)
        _ = compress(&compressed, &length, raw, uLong(raw.count))
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        out += chunk("IHDR", be32(width) + be32(height) + [bitDepth, colorType, 0, 0, 0])
        out += chunk("IDAT", Array(compressed[..<Int(length)]))
        out += chunk("IEND", [])
        return Data(out)
    }

    /// The JPEG with a big-endian EXIF APP1 segment carrying `orientation` after SOI.
    static func withOrientation(_ jpeg: Data, _ orientation: UInt8) -> Data {
        var tiff: [UInt8] = [0x4D, 0x4D, 0, 42, 0, 0, 0, 8]  // "MM", 42, IFD at 8
        tiff += [0, 1]  // one entry
        tiff += [0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0]  // tag 0x0112 SHORT ×1
        tiff += [0, 0, 0, 0]  // no next IFD
        let body = Array("Exif".utf8) + [0, 0] + tiff
        let length = body.count + 2
        let app1: [UInt8] = [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 255)] + body
        return Data(jpeg.prefix(2)) + Data(app1) + Data(jpeg.dropFirst(2))
    }
}

private func XCTAssertEqual(_ a: (width: Int, height: Int)?, _ b: (Int, Int), file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertTrue(a.map { $0.width == b.0 && $0.height == b.1 } ?? false, "size \(String(describing: a)) != \(b)", file: file, line: line)
}

extension ImageCodec {
    /// Test convenience: the header size or nil.
    static func size(_ data: Data) -> (width: Int, height: Int)? { try? size(data, name: "test") }
}
