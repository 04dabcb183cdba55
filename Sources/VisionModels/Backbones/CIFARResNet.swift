import Tensors

/// The CIFAR ResNet of He et al. (2016), depth 6n+2 (20, 32, 56): a 3×3 conv to 16 channels,
/// three stages of n basic blocks with 16/32/64 channels (stride 2 at the start of stages 2 and
/// 3, with a 1×1 conv + BN shortcut there), global average pooling, and a linear classifier.
public final class CIFARResNet: ClassificationNetwork {
    public let stem: Conv2d
    public let stemNorm: BatchNorm2d
    public let stages: [[BasicBlock]]
    public let classifier: Linear
    public let depth: Int
    public let inputChannels: Int
    /// Output channels and strides of the stages (for necks and heads).
    public let stageChannels = [16, 32, 64]
    public let stageStrides = [1, 2, 4]

    public init(depth: Int = 20, inputChannels: Int = 3, classes: Int = 10, seed: UInt64 = 0) throws {
        guard depth >= 8, (depth - 2) % 6 == 0 else {
            throw TensorError.invalidArgument(op: "CIFARResNet", message: "depth must be 6n+2 (20, 32, 56), got \(depth)")
        }
        var rng = RandomState(seed: seed)
        self.depth = depth
        self.inputChannels = inputChannels
        let n = (depth - 2) / 6
        stem = Conv2d(inputChannels, 16, kernel: 3, padding: 1, bias: false, rng: &rng)
        stemNorm = BatchNorm2d(16)
        var inC = 16
        var stages: [[BasicBlock]] = []
        for (i, c) in [16, 32, 64].enumerated() {
            var blocks: [BasicBlock] = []
            for b in 0..<n {
                blocks.append(BasicBlock(inC, c, stride: (i > 0 && b == 0) ? 2 : 1, rng: &rng))
                inC = c
            }
            stages.append(blocks)
        }
        self.stages = stages
        classifier = Linear(64, classes, rng: &rng)
    }

    public var children: [(String, any Module)] {
        var out: [(String, any Module)] = [("conv1", stem), ("bn1", stemNorm)]
        for (i, stage) in stages.enumerated() {
            for (j, block) in stage.enumerated() { out.append(("layer\(i + 1).\(j)", block)) }
        }
        out.append(("fc", classifier))
        return out
    }

    public var featureWidth: Int { 64 }
    public var classifierNames: Set<String> { ["fc"] }

    public func featureMap(_ x: Variable, _ graph: Graph) throws -> Variable {
        var h = try stemNorm(try stem(x, graph), graph, activation: .relu)
        for stage in stages { for block in stage { h = try block(h, graph) } }
        return h
    }

    public func classify(_ pooled: Variable, _ graph: Graph) throws -> Variable { try classifier(pooled, graph) }

    public func lowerTrunk(into plan: InferencePlan) throws -> InferencePlan.Slot {
        var h = try plan.conv(plan.input, stem, batchNorm: stemNorm, activation: .relu)
        for stage in stages { for block in stage { h = try block.lower(into: plan, input: h) } }
        return h
    }

    public func lowerClassifier(into plan: InferencePlan, pooled: InferencePlan.Slot) -> InferencePlan.Slot {
        plan.linear(pooled, classifier)
    }

    /// The fused plan at the CIFAR default size.
    public func inferencePlan() throws -> InferencePlan { try inferencePlan(height: 32, width: 32) }
}

/// conv3×3 → BN → ReLU → conv3×3 → BN, plus the shortcut, then ReLU.
public final class BasicBlock: Layer {
    public let conv1: Conv2d, bn1: BatchNorm2d, conv2: Conv2d, bn2: BatchNorm2d
    public let shortcut: (conv: Conv2d, norm: BatchNorm2d)?

    public init(_ inC: Int, _ outC: Int, stride: Int, rng: inout RandomState) {
        conv1 = Conv2d(inC, outC, kernel: 3, stride: stride, padding: 1, bias: false, rng: &rng)
        bn1 = BatchNorm2d(outC)
        conv2 = Conv2d(outC, outC, kernel: 3, padding: 1, bias: false, rng: &rng)
        bn2 = BatchNorm2d(outC)
        shortcut = (stride != 1 || inC != outC)
            ? (Conv2d(inC, outC, kernel: 1, stride: stride, bias: false, rng: &rng), BatchNorm2d(outC)) : nil
    }

    public var children: [(String, any Module)] {
        var out: [(String, any Module)] = [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2)]
        if let shortcut { out += [("shortcut.0", shortcut.conv), ("shortcut.1", shortcut.norm)] }
        return out
    }

    public func callAsFunction(_ x: Variable, _ graph: Graph) throws -> Variable {
        let h = try bn1(try conv1(x, graph), graph, activation: .relu)
        let skip = try shortcut.map { try $0.norm(try $0.conv(x, graph), graph) } ?? x
        return try bn2(try conv2(h, graph), graph, residual: skip, activation: .relu)
    }

    func lower(into plan: InferencePlan, input: InferencePlan.Slot) throws -> InferencePlan.Slot {
        let h = try plan.conv(input, conv1, batchNorm: bn1, activation: .relu)
        let skip = try shortcut.map { try plan.conv(input, $0.conv, batchNorm: $0.norm) } ?? input
        return try plan.conv(h, conv2, batchNorm: bn2, residual: skip, activation: .relu)
    }
}
