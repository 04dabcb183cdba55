import CDNNL
import Foundation
import Synchronization

/// Training batch norm on oneDNN (`vf_dnnl_bnorm`, vfdnnl.h) for one blocked shape, ReLU fused
/// or not: forward training (batch mean and biased variance out) and backward (scale and
/// shift gradients). One per (shape, eps, relu), created on first use and kept for the process;
/// the ReLU mask lives in a workspace the caller keeps per call site. `BlockedBatchNormKernel`
/// stays the reference, the fallback and the path for the residual tail (oneDNN 2.6 has no
/// training batch norm + add + ReLU).
final class DNNLBatchNorm: @unchecked Sendable {
    private let handle: OpaquePointer
    /// Serializes calls: one object may be shared by graphs on several threads.
    private let lock = Mutex(())
    /// Floats of workspace each forward / backward pair needs (0 without ReLU).
    let workspaceCount: Int

    private init?(_ key: Key) {
        guard let handle = vf_dnnl_bnorm_create(Int32(key.batch), Int32(key.channels), Int32(key.plane), 1, key.eps, key.relu ? 1 : 0,
                                                Int32(key.block), Int32(Parallel.threads)) else { return nil }
        guard vf_dnnl_bnorm_error(handle) == nil else {
            vf_dnnl_bnorm_destroy(handle)
            return nil
        }
        self.handle = handle
        workspaceCount = (vf_dnnl_bnorm_workspace_bytes(handle) + 3) / 4
    }

    deinit { vf_dnnl_bnorm_destroy(handle) }

    /// Whether blocked training batch norms without a residual run on oneDNN
    /// (`VISIONFLEET_DNNL_BNORM=0`: on the engine's kernel). Side by side on ResNet-20 oneDNN's
    /// takes 35–45% less time for batch norm + ReLU (its backward reads a bit mask, not the output).
    static let enabled = DNNLConvolution.enabled && ProcessInfo.processInfo.environment["VISIONFLEET_DNNL_BNORM"] != "0"

    private struct Key: Hashable { var batch, channels, plane, block: Int; var eps: Float; var relu: Bool }
    private static let cache = DNNLPrimitiveCache<Key, DNNLBatchNorm>()

    /// The primitive pair for this shape, nil when oneDNN has none.
    static func shared(batch: Int, channels: Int, plane: Int, block: Int, eps: Float, relu: Bool) -> DNNLBatchNorm? {
        cache.shared(Key(batch: batch, channels: channels, plane: plane, block: block, eps: eps, relu: relu)) { DNNLBatchNorm($0) }
    }

    /// Why the last call failed.
    var lastError: String? { vf_dnnl_bnorm_error(handle).map { String(cString: $0) } }

    /// The implementations oneDNN chose (forward, backward).
    var implementations: [String] { (0..<2).map { String(cString: vf_dnnl_bnorm_impl(handle, Int32($0))) } }

    func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                 mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>?) -> Bool {
        lock.withLock { _ in vf_dnnl_bnorm_forward(handle, x, gamma, beta, y, mean, variance, workspace) == 0 }
    }

    /// dx, dgamma and dbeta overwritten.
    func backward(dx: UnsafeMutablePointer<Float>, dgamma: UnsafeMutablePointer<Float>, dbeta: UnsafeMutablePointer<Float>,
                  dy: UnsafePointer<Float>, x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, mean: UnsafePointer<Float>,
                  variance: UnsafePointer<Float>, workspace: UnsafePointer<Float>?) -> Bool {
        lock.withLock { _ in vf_dnnl_bnorm_backward(handle, x, dy, gamma, beta, mean, variance, workspace, dx, dgamma, dbeta) == 0 }
    }
}
