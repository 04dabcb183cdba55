import Tensors

/// A backbone with a global-average-pool + linear head: what the classification task trains
/// and serves. Each backbone declares its stages' output channels and strides, from which
/// necks and heads are built, and exposes its trunk (everything before pooling) so other
/// heads (embeddings) can pool it their own way.
public protocol ClassificationNetwork: Layer {
    var inputChannels: Int { get }
    var stageChannels: [Int] { get }
    var stageStrides: [Int] { get }
    /// Channels of the trunk's output map.
    var featureWidth: Int { get }
    /// Names of the classifier's children (left out by models that replace the head).
    var classifierNames: Set<String> { get }
    /// The last feature map: (N, featureWidth, H/s, W/s).
    func featureMap(_ x: Variable, _ graph: Graph) throws -> Variable
    /// The classifier on pooled features.
    func classify(_ pooled: Variable, _ graph: Graph) throws -> Variable
    /// The trunk lowered into a fused plan; returns the slot of its output map.
    func lowerTrunk(into plan: InferencePlan) throws -> InferencePlan.Slot
    /// The classifier lowered after global average pooling.
    func lowerClassifier(into plan: InferencePlan, pooled: InferencePlan.Slot) -> InferencePlan.Slot
}

extension ClassificationNetwork {
    /// Globally average-pooled features: (N, featureWidth).
    public func features(_ x: Variable, _ graph: Graph) throws -> Variable {
        try graph.globalAvgPool(try featureMap(x, graph))
    }

    public func callAsFunction(_ x: Variable, _ graph: Graph) throws -> Variable {
        try classify(try features(x, graph), graph)
    }

    /// The fused inference graph for inputs (C, H, W): trunk, average pool, classifier.
    public func inferencePlan(height: Int, width: Int) throws -> InferencePlan {
        let plan = InferencePlan(inputShape: [inputChannels, height, width])
        _ = lowerClassifier(into: plan, pooled: plan.globalAvgPool(try lowerTrunk(into: plan)))
        return plan
    }
}
