/// A pointwise activation as a layer.
public final class ActivationLayer: Layer {
    public let kind: Activation
    public init(_ kind: Activation) { self.kind = kind }
    public func callAsFunction(_ x: Variable, _ graph: Graph) -> Variable { graph.activation(x, kind) }
}
