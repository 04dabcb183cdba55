/// An 8-bit image in memory: rows top to bottom, channels interleaved (gray, gray+alpha, RGB
/// or RGBA).
public struct PixelImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && (1...4).contains(channels), "bad image geometry")
        precondition(pixels.count == width * height * channels, "pixel count does not match geometry")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// A solid image.
    public init(width: Int, height: Int, channels: Int, fill: UInt8 = 0) {
        self.init(width: width, height: height, channels: channels,
                  pixels: [UInt8](repeating: fill, count: width * height * channels))
    }

    @inline(__always) public subscript(x: Int, y: Int, c: Int) -> UInt8 {
        get { pixels[(y * width + x) * channels + c] }
        set { pixels[(y * width + x) * channels + c] = newValue }
    }
}
