/// Labelled images of one size in memory, as 8-bit pixels (N, C, H, W).
public struct ClassificationSet: Sendable {
    public var pixels: [UInt8]
    public var labels: [Int32]
    public let count: Int
    public let channels: Int
    public let height: Int
    public let width: Int
    public let classNames: [String]

    public init(pixels: [UInt8], labels: [Int32], count: Int, channels: Int, height: Int, width: Int, classNames: [String]) {
        self.pixels = pixels
        self.labels = labels
        self.count = count
        self.channels = channels
        self.height = height
        self.width = width
        self.classNames = classNames
    }

    public var imageSize: Int { channels * height * width }

    /// The first `n` items (or all).
    public func prefix(_ n: Int) -> ClassificationSet {
        let k = min(n, count)
        return ClassificationSet(pixels: Array(pixels[..<(k * imageSize)]), labels: Array(labels[..<k]), count: k,
                                 channels: channels, height: height, width: width, classNames: classNames)
    }
}
