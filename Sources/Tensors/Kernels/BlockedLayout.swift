import CDNNL
import Foundation
import Synchronization

/// The channel-blocked activation layout oneDNN's direct convolutions work in: nChw{B}c, B = 16
/// on AVX-512 and 8 on AVX2 — element (n, c, s) of an (N, C, plane) value at
/// ((n·C/B + c/B)·plane + s)·B + c mod B. A training graph keeps convolution outputs in it
/// through batch norm, activations and residual adds, so a chain of convolutions runs without
/// reorders; any other op reads the plain copy `Variable.value` makes on demand.
public enum BlockedLayout {
    /// The block of this CPU's training convolutions; 0 when oneDNN is off, picks neither
    /// layout, or `VISIONFLEET_DNNL_BLOCKED=0`.
    public static let block: Int = {
        guard DNNLConvolution.enabled, ProcessInfo.processInfo.environment["VISIONFLEET_DNNL_BLOCKED"] != "0" else { return 0 }
        return Int(vf_dnnl_preferred_block(Int32(Parallel.threads)))
    }()

    /// Whether a value of `channels` channels can be held blocked.
    @inline(__always)
    static func fits(channels: Int) -> Bool { block > 0 && channels % block == 0 }

    private static let converted = Atomic<Int>(0)
    /// Conversions made so far (either way), for profiles.
    public static var conversions: Int { converted.load(ordering: .relaxed) }

    /// Plain (N, C, plane) → blocked; `channels` a multiple of `block`.
    static func toBlocked(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, batch: Int, channels: Int, plane: Int,
                          block: Int) {
        forEachChannel(batch: batch, channels: channels, plane: plane, block: block) { blocked, plain in
            for s in 0..<plane { dst[blocked + s * block] = src[plain + s] }
        }
    }

    /// Blocked → plain (N, C, plane).
    static func toPlain(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, batch: Int, channels: Int, plane: Int,
                        block: Int) {
        forEachChannel(batch: batch, channels: channels, plane: plane, block: block) { blocked, plain in
            for s in 0..<plane { dst[plain + s] = src[blocked + s * block] }
        }
    }

    /// `toBlocked` for a value of this shape, in this process's `block`.
    static func toBlocked(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, shape: [Int]) {
        let (n, c, s) = dims(shape)
        toBlocked(dst, src, batch: n, channels: c, plane: s, block: block)
    }

    /// `toPlain` for a value of this shape, in this process's `block`.
    static func toPlain(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, shape: [Int]) {
        let (n, c, s) = dims(shape)
        toPlain(dst, src, batch: n, channels: c, plane: s, block: block)
    }

    /// Visits every (image, channel) as (offset of its first float in the blocked layout — the
    /// next spatial position is `block` floats on —, offset of its plane in the plain layout),
    /// split over the threads by channel block; counts one conversion.
    @inline(__always)
    private static func forEachChannel(batch: Int, channels: Int, plane: Int, block: Int, _ body: (_ blocked: Int, _ plain: Int) -> Void) {
        converted.add(1, ordering: .relaxed)
        let blocks = channels / block
        Parallel.forEachChunk(batch * blocks, minimumPerChunk: Parallel.rowsPerChunk(plane * block)) { _, rows in
            for r in rows {
                let n = r / blocks, cb = r % blocks
                for l in 0..<block { body(r * plane * block + l, (n * channels + cb * block + l) * plane) }
            }
        }
    }

    /// (N, C, plane) of a 4-D (or higher) shape.
    @inline(__always)
    static func dims(_ shape: [Int]) -> (batch: Int, channels: Int, plane: Int) {
        (shape[0], shape[1], shape.dropFirst(2).reduce(1, *))
    }
}
