/// Batch normalisation over channels, with running statistics as buffers.
public final class BatchNorm2d: Layer {
    public let gamma: Variable, beta: Variable
    public let runningMean: Tensor, runningVar: Tensor
    public var momentum: Float, eps: Float

    public init(_ channels: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        gamma = Variable(Tensor(repeating: 1, shape: [channels]), requiresGrad: true)
        beta = Variable(Tensor(zeros: [channels]), requiresGrad: true)
        runningMean = Tensor(zeros: [channels])
        runningVar = Tensor(repeating: 1, shape: [channels])
        self.momentum = momentum
        self.eps = eps
    }

    public var ownParameters: [(String, Variable)] { [("weight", gamma), ("bias", beta)] }
    public var ownBuffers: [(String, Tensor)] { [("running_mean", runningMean), ("running_var", runningVar)] }

    public func callAsFunction(_ x: Variable, _ graph: Graph) throws -> Variable {
        try graph.batchNorm(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                            momentum: momentum, eps: eps)
    }

    /// act(bn(x) + residual): a residual block's tail (fused where the graph can; see `Graph.batchNorm`).
    public func callAsFunction(_ x: Variable, _ graph: Graph, residual: Variable? = nil, activation: Activation?) throws -> Variable {
        try graph.batchNorm(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                            momentum: momentum, eps: eps, residual: residual, activation: activation)
    }
}
