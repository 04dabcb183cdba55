import CDNNL
import Synchronization

/// A convolution's training passes on oneDNN (`vf_dnnl_conv`, vfdnnl.h) for one geometry:
/// forward, backward data and backward weights over the engine's OIHW weights and activations
/// plain (NCHW) or in `BlockedLayout` — the layout the primitives use themselves, so blocked
/// arguments cost no reorder — anything else reordered into the layouts oneDNN picks. One per geometry, created on first use
/// and kept for the process; `Conv2dKernel` stays the reference and the fallback (a geometry
/// oneDNN has no primitive for, or `VISIONFLEET_DNNL=0`).
final class DNNLConvolution: @unchecked Sendable {
    private let handle: OpaquePointer
    let geometry: ConvGeometry
    /// Serializes calls: one object may be shared by graphs on several threads.
    private let lock = Mutex(())

    private init?(_ g: ConvGeometry, hasBias: Bool) {
        guard let handle = vf_dnnl_conv_create(Int32(g.batch), Int32(g.inChannels), Int32(g.height), Int32(g.width), Int32(g.outChannels),
                                               Int32(g.kernelH), Int32(g.kernelW), Int32(g.strideH), Int32(g.strideW), Int32(g.padH),
                                               Int32(g.padW), Int32(g.dilationH), Int32(g.dilationW), Int32(g.groups), hasBias ? 1 : 0,
                                               Int32(Parallel.threads), Int32(BlockedLayout.block)) else { return nil }
        guard vf_dnnl_conv_error(handle) == nil else {
            vf_dnnl_conv_destroy(handle)
            return nil
        }
        self.handle = handle
        geometry = g
        writesBlocked = vf_dnnl_conv_blocked(handle, 1) != 0
    }

    /// The forward writes its output in `BlockedLayout` itself (so a blocked output costs no reorder).
    let writesBlocked: Bool

    deinit { vf_dnnl_conv_destroy(handle) }

    /// Whether training convolutions run on oneDNN (`VISIONFLEET_DNNL=0` turns it off).
    static let enabled = InferencePlan.defaultBackend == .oneDNN

    private struct Key: Hashable { var geometry: ConvGeometry; var hasBias: Bool }
    /// The convolutions made so far (nil: a geometry oneDNN cannot do), oldest first in
    /// `order`; each holds its reordered copies of activations, so at most `capacity` are kept
    /// (a model's layers at a couple of batch sizes fit).
    private struct Cache {
        var entries: [Key: DNNLConvolution?] = [:]
        var order: [Key] = []
    }
    private static let cache = Mutex(Cache())
    static let capacity = 64

    /// The convolution for this geometry, nil when oneDNN is off or has none.
    static func shared(_ g: ConvGeometry, hasBias: Bool) -> DNNLConvolution? {
        guard enabled else { return nil }
        let key = Key(geometry: g, hasBias: hasBias)
        return cache.withLock { cache in
            if let known = cache.entries[key] { return known }
            let made = DNNLConvolution(g, hasBias: hasBias)
            if cache.order.count >= capacity { cache.entries.removeValue(forKey: cache.order.removeFirst()) }
            cache.entries.updateValue(made, forKey: key)
            cache.order.append(key)
            return made
        }
    }

    /// The implementations oneDNN chose (forward, backward data, backward weights).
    var implementations: [String] { (0..<3).map { String(cString: vf_dnnl_conv_impl(handle, Int32($0))) } }

    /// `*Blocked`: that argument is in `BlockedLayout` (its channels a multiple of the block).
    func forward(_ out: UnsafeMutablePointer<Float>, outBlocked: Bool = false, _ input: UnsafePointer<Float>, inputBlocked: Bool = false,
                 _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?) -> Bool {
        lock.withLock { _ in
            vf_dnnl_conv_forward(handle, input, inputBlocked ? 1 : 0, weight, bias, out, outBlocked ? 1 : 0) == 0
        }
    }

    /// dInput overwritten (nil to skip); dWeight and dBias accumulated (+=), as `Conv2dKernel.backward`.
    /// `inputBlocked` applies to input and dInput, `outBlocked` to dOut.
    func backward(dInput: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>?,
                  dOut: UnsafePointer<Float>, outBlocked: Bool = false, input: UnsafePointer<Float>, inputBlocked: Bool = false,
                  weight: UnsafePointer<Float>, scratch: BufferPool?) -> Bool {
        let g = geometry
        let partial = Scratch(count: g.weightCount + g.outChannels, pool: scratch)
        defer { partial.release() }
        let (i, o): (Int32, Int32) = (inputBlocked ? 1 : 0, outBlocked ? 1 : 0)
        let ok = lock.withLock { _ -> Bool in
            if let dInput, vf_dnnl_conv_backward_data(handle, dOut, o, weight, dInput, i) != 0 { return false }
            return vf_dnnl_conv_backward_weights(handle, input, i, dOut, o, partial.pointer,
                                                 dBias == nil ? nil : partial.pointer + g.weightCount) == 0
        }
        guard ok else { return false }
        for i in 0..<g.weightCount { dWeight[i] += partial.pointer[i] }
        if let dBias { for c in 0..<g.outChannels { dBias[c] += partial.pointer[g.weightCount + c] } }
        return true
    }
}
