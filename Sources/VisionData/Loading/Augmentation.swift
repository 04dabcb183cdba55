import Tensors

/// Train-time augmentation of 8-bit images chosen in config: random crop after zero padding
/// and horizontal flip. Deterministic for a given RandomState.
public struct Augmentation: Sendable, Equatable {
    public var padCrop: Int
    public var horizontalFlip: Bool

    public init(padCrop: Int = 0, horizontalFlip: Bool = false) {
        self.padCrop = padCrop
        self.horizontalFlip = horizontalFlip
    }

    public static let none = Augmentation()

    /// Writes one augmented, normalised image (C, H, W) into `out`.
    @inline(__always)
    func apply(_ src: UnsafePointer<UInt8>, into out: UnsafeMutablePointer<Float>, channels: Int, height: Int, width: Int,
               scale: [Float], shift: [Float], rng: inout RandomState) {
        let dy = padCrop > 0 ? rng.nextInt(2 * padCrop + 1) - padCrop : 0
        let dx = padCrop > 0 ? rng.nextInt(2 * padCrop + 1) - padCrop : 0
        let flip = horizontalFlip && rng.nextInt(2) == 1
        for c in 0..<channels {
            let plane = src + c * height * width, dst = out + c * height * width
            let a = scale[c], b = shift[c]
            for y in 0..<height {
                let sy = y + dy
                let row = dst + y * width
                if sy < 0 || sy >= height {
                    for x in 0..<width { row[x] = b }  // padded pixels are 0 before normalisation
                    continue
                }
                for x in 0..<width {
                    let sx0 = flip ? width - 1 - x : x
                    let sx = sx0 + dx
                    row[x] = (sx < 0 || sx >= width) ? b : Float(plane[sy * width + sx]) * a + b
                }
            }
        }
    }
}
