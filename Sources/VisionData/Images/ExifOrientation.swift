/// The EXIF orientation tag (0x0112) of a JPEG's APP1 segment: how the stored pixels must be
/// turned to appear upright. 1 is upright; 2–8 mirror and/or rotate.
enum ExifOrientation {
    /// The orientation value (1–8), or 1 when the file has none or it cannot be read.
    static func read(_ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 2  // after SOI
        while offset + 4 <= bytes.count, bytes[offset] == 0xFF {
            let marker = bytes[offset + 1]
            if marker == 0xDA || marker == 0xD9 { break }  // start of scan / end: no EXIF before pixels
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            guard length >= 2, offset + 2 + length <= bytes.count else { break }
            if marker == 0xE1, length >= 16, let value = parseAPP1(bytes, start: offset + 4, end: offset + 2 + length) {
                return value
            }
            offset += 2 + length
        }
        return 1
    }

    private static func parseAPP1(_ b: UnsafeRawBufferPointer, start: Int, end: Int) -> Int? {
        // "Exif\0\0" then a TIFF header.
        guard b[start] == 0x45, b[start + 1] == 0x78, b[start + 2] == 0x69, b[start + 3] == 0x66 else { return nil }
        let tiff = start + 6
        guard tiff + 8 <= end else { return nil }
        let little: Bool
        switch (b[tiff], b[tiff + 1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func u16(_ o: Int) -> Int? {
            guard o + 2 <= end else { return nil }
            return little ? Int(b[o]) | Int(b[o + 1]) << 8 : Int(b[o]) << 8 | Int(b[o + 1])
        }
        func u32(_ o: Int) -> Int? {
            guard let hi = u16(little ? o + 2 : o), let lo = u16(little ? o : o + 2) else { return nil }
            return hi << 16 | lo
        }
        guard let ifd = u32(tiff + 4), let count = u16(tiff + ifd) else { return nil }
        for i in 0..<count {
            let entry = tiff + ifd + 2 + 12 * i
            guard let tag = u16(entry) else { return nil }
            if tag == 0x0112, let value = u16(entry + 8), (1...8).contains(value) { return value }
        }
        return nil
    }

    /// The image turned upright for `orientation`.
    static func apply(_ orientation: Int, to image: PixelImage) -> PixelImage {
        guard orientation >= 2 && orientation <= 8 else { return image }
        let w = image.width, h = image.height, c = image.channels
        let swaps = orientation >= 5
        let ow = swaps ? h : w, oh = swaps ? w : h
        var out = [UInt8](repeating: 0, count: image.pixels.count)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<oh {
                    for x in 0..<ow {
                        // Source coordinate of output pixel (x, y).
                        let (sx, sy): (Int, Int)
                        switch orientation {
                        case 2: (sx, sy) = (w - 1 - x, y)
                        case 3: (sx, sy) = (w - 1 - x, h - 1 - y)
                        case 4: (sx, sy) = (x, h - 1 - y)
                        case 5: (sx, sy) = (y, x)
                        case 6: (sx, sy) = (y, h - 1 - x)
                        case 7: (sx, sy) = (w - 1 - y, h - 1 - x)
                        default: (sx, sy) = (w - 1 - y, x)  // 8
                        }
                        for k in 0..<c { dst[(y * ow + x) * c + k] = src[(sy * w + sx) * c + k] }
                    }
                }
            }
        }
        return PixelImage(width: ow, height: oh, channels: c, pixels: out)
    }
}
