/// 2-D convolution layer (Kaiming-normal init, fan_in, ReLU gain).
public final class Conv2d: Layer {
    public let weight: Variable
    public let bias: Variable?
    public let stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), groups: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true, rng: inout RandomState) {
        let fanIn = inChannels / groups * kernel * kernel
        weight = Variable(Tensor(normal: [outChannels, inChannels / groups, kernel, kernel],
                                 std: (2 / Float(fanIn)).squareRoot(), rng: &rng), requiresGrad: true)
        self.bias = bias ? Variable(Tensor(zeros: [outChannels]), requiresGrad: true) : nil
        self.stride = (stride, stride); self.padding = (padding, padding); self.dilation = (dilation, dilation)
        self.groups = groups
    }

    public var ownParameters: [(String, Variable)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }

    public func callAsFunction(_ x: Variable, _ graph: Graph) throws -> Variable {
        try graph.conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}
