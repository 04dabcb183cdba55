import Tensors

/// Backbone trunk → pooling (avg, max or GeM) → linear projection → L2-normalised embedding.
/// The backbone's classifier is left out.
public final class EmbeddingModel: Layer {
    public enum Pooling: Sendable, Equatable {
        case average, max, gem(p: Float)
    }

    public let backbone: any ClassificationNetwork
    public let pooling: Pooling
    public let projection: Linear
    public var dimension: Int { projection.weight.shape[0] }

    public init(backbone: any ClassificationNetwork, pooling: Pooling, dimension: Int, seed: UInt64 = 0) {
        self.backbone = backbone
        self.pooling = pooling
        var rng = RandomState(seed: seed &+ 0x5EED)
        projection = Linear(backbone.featureWidth, dimension, rng: &rng)
    }

    public var children: [(String, any Module)] {
        backbone.children.filter { !backbone.classifierNames.contains($0.0) } + [("neck.projection", projection)]
    }

    func pool(_ map: Variable, _ graph: Graph) throws -> Variable {
        switch pooling {
        case .average: try graph.globalAvgPool(map)
        case .max: try graph.globalMaxPool(map)
        case .gem(let p): try graph.gemPool(map, p: p)
        }
    }

    /// Unit-length embeddings (N, dimension).
    public func callAsFunction(_ x: Variable, _ graph: Graph) throws -> Variable {
        try graph.l2Normalize(try projection(try pool(try backbone.featureMap(x, graph), graph), graph))
    }

    /// Embeds images (N, C, H, W) without a tape: through the fused plan for average pooling
    /// (normalised after), else the eval-mode graph.
    public func embed(_ images: Tensor, plan: InferencePlan?) throws -> [Float] {
        if let plan { return try Graph.inference().l2Normalize(Variable(try plan.run(images))).value.scalars }
        return try self(Variable(images), Graph.inference()).value.scalars
    }

    /// The fused plan (trunk + average pool + projection) when pooling is average, else nil.
    public func inferencePlan(height: Int, width: Int) throws -> InferencePlan? {
        guard pooling == .average else { return nil }
        let plan = InferencePlan(inputShape: [backbone.inputChannels, height, width])
        _ = plan.linear(plan.globalAvgPool(try backbone.lowerTrunk(into: plan)), projection)
        return plan
    }
}

/// ArcFace's class centres: cos θ between normalised embeddings and normalised class weights,
/// turned into margin logits for cross-entropy. Used in training only.
public final class ArcFaceHead: Module {
    public let weight: Variable
    public let scale: Float, margin: Float

    public init(dimension: Int, classes: Int, scale: Float, margin: Float, seed: UInt64 = 0) {
        var rng = RandomState(seed: seed &+ 0xA2CF)
        weight = Variable(Tensor(normal: [classes, dimension], std: (1 / Float(dimension)).squareRoot(), rng: &rng), requiresGrad: true)
        self.scale = scale
        self.margin = margin
    }

    public var ownParameters: [(String, Variable)] { [("weight", weight)] }

    /// Margin logits (N, classes) for unit embeddings and their labels.
    public func logits(_ embeddings: Variable, labels: [Int32], _ graph: Graph) throws -> Variable {
        let cosine = try graph.linear(embeddings, weight: try graph.l2Normalize(weight), bias: nil)
        return try graph.arcFace(cosine, targets: labels, scale: scale, margin: margin)
    }
}
