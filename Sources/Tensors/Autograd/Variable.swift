/// A node of the autograd graph: a value, and its gradient once backward reached it.
///
/// A training graph's convolutions, batch norms, activations and adds may hold their output in
/// the channel-blocked layout (`blocked`, see `BlockedLayout`) and their gradient in it
/// (`blockedGrad`); `value` and `grad` stay plain NCHW. Reading `value` of a blocked variable
/// makes (once) a plain copy from the graph's pool, so ops that know only the plain layout
/// work unchanged; the gradient they write goes to `grad`, and the producing op adds both.
public final class Variable: @unchecked Sendable {
    private var plain: Tensor?
    /// The value in the channel-blocked layout, when a layout-aware op produced it so.
    private(set) var blocked: Tensor?
    public var grad: Tensor?
    /// Gradient contributions in the blocked layout (from layout-aware consumers).
    var blockedGrad: Tensor?
    public let requiresGrad: Bool
    /// Parameters keep their gradient storage across steps; intermediates return it to the pool.
    let isLeaf: Bool
    /// Where a plain copy of a blocked value comes from.
    private weak var graph: Graph?

    public init(_ value: Tensor, requiresGrad: Bool = false) {
        plain = value
        self.requiresGrad = requiresGrad
        self.isLeaf = true
    }

    init(intermediate value: Tensor, requiresGrad: Bool) {
        plain = value
        self.requiresGrad = requiresGrad
        self.isLeaf = false
    }

    /// An intermediate held blocked (`value` has the logical NCHW shape, blocked contents).
    init(blocked value: Tensor, requiresGrad: Bool, graph: Graph) {
        blocked = value
        self.requiresGrad = requiresGrad
        self.isLeaf = false
        self.graph = graph
    }

    public var value: Tensor {
        get {
            if let plain { return plain }
            let b = blocked!
            let copy = graph?.make(b.shape) ?? Tensor(uninitialized: b.shape)
            BlockedLayout.toPlain(copy.pointer, b.pointer, shape: b.shape)
            plain = copy
            return copy
        }
        set {
            plain = newValue
            blocked = nil
        }
    }

    public var shape: [Int] { plain?.shape ?? blocked!.shape }

    /// Zeroes the gradient (kept allocated).
    public func zeroGrad() { grad?.fill(0) }
}
