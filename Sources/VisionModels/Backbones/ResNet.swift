import Tensors

/// The ImageNet ResNet of He et al. (2016), depth 18 or 34: basic blocks in four stages of
/// 64/128/256/512 channels. The stem is configurable: `conv7` (7×7 stride 2 + 3×3 max pool,
/// for inputs ≥ 128 px) or `conv3` (3×3 stride 1, no pool, for small inputs).
public final class ResNet: ClassificationNetwork {
    public enum Stem: String, Sendable, CaseIterable { case conv7, conv3 }

    public static let blocksPerStage: [Int: [Int]] = [18: [2, 2, 2, 2], 34: [3, 4, 6, 3]]

    public let stemConv: Conv2d
    public let stemNorm: BatchNorm2d
    public let stem: Stem
    public let stages: [[BasicBlock]]
    public let classifier: Linear
    public let inputChannels: Int
    public let stageChannels = [64, 128, 256, 512]
    public let stageStrides: [Int]

    public init(depth: Int, stem: Stem = .conv7, inputChannels: Int = 3, classes: Int = 1000, seed: UInt64 = 0) throws {
        guard let counts = Self.blocksPerStage[depth] else {
            throw TensorError.invalidArgument(op: "ResNet", message: "depth must be 18 or 34, got \(depth)")
        }
        var rng = RandomState(seed: seed)
        self.stem = stem
        self.inputChannels = inputChannels
        stemConv = stem == .conv7
            ? Conv2d(inputChannels, 64, kernel: 7, stride: 2, padding: 3, bias: false, rng: &rng)
            : Conv2d(inputChannels, 64, kernel: 3, padding: 1, bias: false, rng: &rng)
        stemNorm = BatchNorm2d(64)
        var inC = 64
        var stages: [[BasicBlock]] = []
        for (i, (c, n)) in zip(stageChannels, counts).enumerated() {
            var blocks: [BasicBlock] = []
            for b in 0..<n {
                blocks.append(BasicBlock(inC, c, stride: i > 0 && b == 0 ? 2 : 1, rng: &rng))
                inC = c
            }
            stages.append(blocks)
        }
        self.stages = stages
        let base = stem == .conv7 ? 4 : 1
        stageStrides = [base, base * 2, base * 4, base * 8]
        classifier = Linear(512, classes, rng: &rng)
    }

    public var children: [(String, any Module)] {
        var out: [(String, any Module)] = [("conv1", stemConv), ("bn1", stemNorm)]
        for (i, stage) in stages.enumerated() {
            for (j, block) in stage.enumerated() { out.append(("layer\(i + 1).\(j)", block)) }
        }
        out.append(("fc", classifier))
        return out
    }

    public var featureWidth: Int { 512 }
    public var classifierNames: Set<String> { ["fc"] }

    public func featureMap(_ x: Variable, _ graph: Graph) throws -> Variable {
        var h = try stemNorm(try stemConv(x, graph), graph, activation: .relu)
        if stem == .conv7 { h = try graph.maxPool2d(h, kernel: 3, stride: 2, padding: 1) }
        for stage in stages { for block in stage { h = try block(h, graph) } }
        return h
    }

    public func classify(_ pooled: Variable, _ graph: Graph) throws -> Variable { try classifier(pooled, graph) }

    public func lowerTrunk(into plan: InferencePlan) throws -> InferencePlan.Slot {
        var h = try plan.conv(plan.input, stemConv, batchNorm: stemNorm, activation: .relu)
        if stem == .conv7 { h = plan.maxPool(h, kernel: 3, stride: 2, padding: 1) }
        for stage in stages { for block in stage { h = try block.lower(into: plan, input: h) } }
        return h
    }

    public func lowerClassifier(into plan: InferencePlan, pooled: InferencePlan.Slot) -> InferencePlan.Slot {
        plan.linear(pooled, classifier)
    }
}
