/// Layers applied in order; children are named "0", "1", ...
public final class Sequential: Layer {
    public let layers: [any Layer]
    public init(_ layers: [any Layer]) { self.layers = layers }

    public var children: [(String, any Module)] { layers.enumerated().map { ("\($0.offset)", $0.element) } }

    public func callAsFunction(_ x: Variable, _ graph: Graph) throws -> Variable {
        var h = x
        for layer in layers { h = try layer(h, graph) }
        return h
    }
}
