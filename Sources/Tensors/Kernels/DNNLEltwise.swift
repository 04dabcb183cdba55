import CDNNL
import Foundation
import Synchronization

/// A training activation on oneDNN's eltwise primitives (`vf_dnnl_eltwise`, vfdnnl.h) over one
/// element count, forward and backward from the input; pointwise, so any layout. One per
/// (activation, count), created on first use and kept for the process. `Activation`'s own
/// kernels stay the reference and the fallback.
final class DNNLEltwise: @unchecked Sendable {
    private let handle: OpaquePointer
    /// Serializes calls: one object may be shared by graphs on several threads.
    private let lock = Mutex(())

    private init?(_ key: Key) {
        guard let handle = vf_dnnl_eltwise_create(DNNLNetwork.code(key.kind), key.count, Activation.leakySlope, Int32(Parallel.threads))
        else { return nil }
        guard vf_dnnl_eltwise_error(handle) == nil else {
            vf_dnnl_eltwise_destroy(handle)
            return nil
        }
        self.handle = handle
    }

    deinit { vf_dnnl_eltwise_destroy(handle) }

    /// Whether SiLU, sigmoid and GELU of blocked training values run on oneDNN
    /// (`VISIONFLEET_DNNL_ELTWISE=1`). Off by default: side by side on YOLOX-tiny it is level
    /// with the engine's C kernel (`vf_sigmoid_family_*`) for SiLU, within this machine's noise.
    /// ReLU never does: oneDNN's turns NaN into 0, which would hide a diverging loss from `LossGuard`.
    static let enabled = DNNLConvolution.enabled && ProcessInfo.processInfo.environment["VISIONFLEET_DNNL_ELTWISE"] == "1"
    static func handles(_ kind: Activation) -> Bool { enabled && [.silu, .sigmoid, .gelu].contains(kind) }

    private struct Key: Hashable { var kind: Activation; var count: Int }
    private static let cache = DNNLPrimitiveCache<Key, DNNLEltwise>()

    /// The primitive pair for this activation and element count, nil when oneDNN has none.
    static func shared(_ kind: Activation, count: Int) -> DNNLEltwise? { cache.shared(Key(kind: kind, count: count)) { DNNLEltwise($0) } }

    /// The implementations oneDNN chose (forward, backward).
    var implementations: [String] { (0..<2).map { String(cString: vf_dnnl_eltwise_impl(handle, Int32($0))) } }
    var lastError: String? { vf_dnnl_eltwise_error(handle).map { String(cString: $0) } }

    func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>) -> Bool {
        lock.withLock { _ in vf_dnnl_eltwise_forward(handle, x, y) == 0 }
    }

    /// dx overwritten.
    func backward(_ dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>) -> Bool {
        lock.withLock { _ in vf_dnnl_eltwise_backward(handle, x, dy, dx) == 0 }
    }
}
