/// Fully connected layer (uniform ±1/sqrt(in) init, as PyTorch).
public final class Linear: Layer {
    public let weight: Variable
    public let bias: Variable?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: inout RandomState) {
        let bound = 1 / Float(inFeatures).squareRoot()
        weight = Variable(Tensor(uniform: [outFeatures, inFeatures], low: -bound, high: bound, rng: &rng), requiresGrad: true)
        self.bias = bias ? Variable(Tensor(uniform: [outFeatures], low: -bound, high: bound, rng: &rng), requiresGrad: true) : nil
    }

    public var ownParameters: [(String, Variable)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }

    public func callAsFunction(_ x: Variable, _ graph: Graph) throws -> Variable {
        try graph.linear(x, weight: weight, bias: bias)
    }
}
