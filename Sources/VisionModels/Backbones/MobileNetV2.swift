import Tensors

/// MobileNetV2 (Sandler et al., 2018): inverted residual blocks (1×1 expand → 3×3 depthwise →
/// 1×1 linear projection, ReLU6, skip when shape allows) with a width multiplier; channels are
/// rounded to multiples of 8. `stemStride` 1 keeps small inputs (28–64 px) from vanishing.
public final class MobileNetV2: ClassificationNetwork {
    /// (expansion t, channels c, repeats n, first stride s) of the paper's Table 2.
    static let settings: [(t: Int, c: Int, n: Int, s: Int)] = [
        (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    ]

    public let widthMultiplier: Double
    public let stemStride: Int
    public let stemConv: Conv2d, stemNorm: BatchNorm2d
    public let blocks: [InvertedResidual]
    public let headConv: Conv2d, headNorm: BatchNorm2d
    public let classifier: Linear
    public let inputChannels: Int
    public let stageChannels: [Int]
    public let stageStrides: [Int]

    /// `value` scaled and rounded to a multiple of 8, never below 90% of the scaled value.
    static func divisible(_ value: Double) -> Int {
        let rounded = max(8, Int(value + 4) / 8 * 8)
        return Double(rounded) < 0.9 * value ? rounded + 8 : rounded
    }

    public init(widthMultiplier: Double = 1, stemStride: Int = 2, inputChannels: Int = 3, classes: Int = 1000, seed: UInt64 = 0) throws {
        guard widthMultiplier >= 0.25 && widthMultiplier <= 2 else {
            throw TensorError.invalidArgument(op: "MobileNetV2", message: "width multiplier must be 0.25...2, got \(widthMultiplier)")
        }
        guard stemStride == 1 || stemStride == 2 else {
            throw TensorError.invalidArgument(op: "MobileNetV2", message: "stem stride must be 1 or 2, got \(stemStride)")
        }
        var rng = RandomState(seed: seed)
        self.widthMultiplier = widthMultiplier
        self.stemStride = stemStride
        self.inputChannels = inputChannels
        let stemC = Self.divisible(32 * widthMultiplier)
        stemConv = Conv2d(inputChannels, stemC, kernel: 3, stride: stemStride, padding: 1, bias: false, rng: &rng)
        stemNorm = BatchNorm2d(stemC)
        var blocks: [InvertedResidual] = []
        var inC = stemC, stride = stemStride
        var channels: [Int] = [], strides: [Int] = []
        for (t, c, n, s) in Self.settings {
            let outC = Self.divisible(Double(c) * widthMultiplier)
            for i in 0..<n {
                blocks.append(InvertedResidual(inC, outC, stride: i == 0 ? s : 1, expansion: t, rng: &rng))
                inC = outC
            }
            stride *= s
            // A stage is the last block at each resolution.
            if strides.last == stride { channels[channels.count - 1] = outC } else { channels.append(outC); strides.append(stride) }
        }
        self.blocks = blocks
        let lastC = widthMultiplier > 1 ? Self.divisible(1280 * widthMultiplier) : 1280
        headConv = Conv2d(inC, lastC, kernel: 1, bias: false, rng: &rng)
        headNorm = BatchNorm2d(lastC)
        classifier = Linear(lastC, classes, rng: &rng)
        stageChannels = channels
        stageStrides = strides
    }

    public var children: [(String, any Module)] {
        var out: [(String, any Module)] = [("features.0.0", stemConv), ("features.0.1", stemNorm)]
        for (i, block) in blocks.enumerated() { out.append(("features.\(i + 1)", block)) }
        out += [("features.\(blocks.count + 1).0", headConv), ("features.\(blocks.count + 1).1", headNorm), ("classifier", classifier)]
        return out
    }

    public var featureWidth: Int { headConv.weight.shape[0] }
    public var classifierNames: Set<String> { ["classifier"] }

    public func featureMap(_ x: Variable, _ graph: Graph) throws -> Variable {
        var h = graph.activation(try stemNorm(try stemConv(x, graph), graph), .relu6)
        for block in blocks { h = try block(h, graph) }
        return graph.activation(try headNorm(try headConv(h, graph), graph), .relu6)
    }

    public func classify(_ pooled: Variable, _ graph: Graph) throws -> Variable { try classifier(pooled, graph) }

    public func lowerTrunk(into plan: InferencePlan) throws -> InferencePlan.Slot {
        var h = try plan.conv(plan.input, stemConv, batchNorm: stemNorm, activation: .relu6)
        for block in blocks { h = try block.lower(into: plan, input: h) }
        return try plan.conv(h, headConv, batchNorm: headNorm, activation: .relu6)
    }

    public func lowerClassifier(into plan: InferencePlan, pooled: InferencePlan.Slot) -> InferencePlan.Slot {
        plan.linear(pooled, classifier)
    }
}

/// 1×1 expand (skipped when t = 1) → 3×3 depthwise → 1×1 project, skip connection when stride
/// is 1 and channels match.
public final class InvertedResidual: Layer {
    public let expand: (conv: Conv2d, norm: BatchNorm2d)?
    public let depthwise: Conv2d, depthwiseNorm: BatchNorm2d
    public let project: Conv2d, projectNorm: BatchNorm2d
    public let useSkip: Bool

    init(_ inC: Int, _ outC: Int, stride: Int, expansion: Int, rng: inout RandomState) {
        let hidden = inC * expansion
        expand = expansion == 1 ? nil : (Conv2d(inC, hidden, kernel: 1, bias: false, rng: &rng), BatchNorm2d(hidden))
        depthwise = Conv2d(hidden, hidden, kernel: 3, stride: stride, padding: 1, groups: hidden, bias: false, rng: &rng)
        depthwiseNorm = BatchNorm2d(hidden)
        project = Conv2d(hidden, outC, kernel: 1, bias: false, rng: &rng)
        projectNorm = BatchNorm2d(outC)
        useSkip = stride == 1 && inC == outC
    }

    public var children: [(String, any Module)] {
        var out: [(String, any Module)] = []
        var i = 0
        if let expand { out += [("conv.0.0", expand.conv), ("conv.0.1", expand.norm)]; i = 1 }
        out += [("conv.\(i).0", depthwise), ("conv.\(i).1", depthwiseNorm), ("conv.\(i + 1)", project), ("conv.\(i + 2)", projectNorm)]
        return out
    }

    public func callAsFunction(_ x: Variable, _ graph: Graph) throws -> Variable {
        var h = x
        if let expand { h = graph.activation(try expand.norm(try expand.conv(h, graph), graph), .relu6) }
        h = graph.activation(try depthwiseNorm(try depthwise(h, graph), graph), .relu6)
        h = try projectNorm(try project(h, graph), graph)
        return useSkip ? try graph.add(h, x) : h
    }

    func lower(into plan: InferencePlan, input: InferencePlan.Slot) throws -> InferencePlan.Slot {
        var h = input
        if let expand { h = try plan.conv(h, expand.conv, batchNorm: expand.norm, activation: .relu6) }
        h = try plan.conv(h, depthwise, batchNorm: depthwiseNorm, activation: .relu6)
        return try plan.conv(h, project, batchNorm: projectNorm, residual: useSkip ? input : nil)
    }
}
