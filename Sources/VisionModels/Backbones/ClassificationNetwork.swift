import Tensors

/// A backbone with a global-average-pool + linear head: what the classification task trains
/// and serves. Each backbone declares its stages' output channels and strides, from which
/// necks and heads are built.
public protocol ClassificationNetwork: Layer {
    var inputChannels: Int { get }
    var stageChannels: [Int] { get }
    var stageStrides: [Int] { get }
    /// Pooled features before the classifier: (N, featureWidth).
    func features(_ x: Variable, _ graph: Graph) throws -> Variable
    /// The fused inference graph for inputs (C, H, W).
    func inferencePlan(height: Int, width: Int) throws -> InferencePlan
}
