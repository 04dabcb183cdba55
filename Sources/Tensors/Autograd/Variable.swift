/// A node of the autograd graph: a value, and its gradient once backward reached it.
public final class Variable: @unchecked Sendable {
    public var value: Tensor
    public var grad: Tensor?
    public let requiresGrad: Bool
    /// Parameters keep their gradient storage across steps; intermediates return it to the pool.
    let isLeaf: Bool

    public init(_ value: Tensor, requiresGrad: Bool = false) {
        self.value = value
        self.requiresGrad = requiresGrad
        self.isLeaf = true
    }

    init(intermediate value: Tensor, requiresGrad: Bool) {
        self.value = value
        self.requiresGrad = requiresGrad
        self.isLeaf = false
    }

    public var shape: [Int] { value.shape }

    /// Zeroes the gradient (kept allocated).
    public func zeroGrad() { grad?.fill(0) }
}
