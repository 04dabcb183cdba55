import Tensors

/// conv (no bias) → batch norm (eps 1e-3, momentum 0.03 as YOLOX) → SiLU.
public final class ConvNormAct: Layer {
    public let conv: Conv2d
    public let norm: BatchNorm2d

    public init(_ inC: Int, _ outC: Int, kernel: Int, stride: Int = 1, groups: Int = 1, rng: inout RandomState) {
        conv = Conv2d(inC, outC, kernel: kernel, stride: stride, padding: (kernel - 1) / 2, groups: groups, bias: false, rng: &rng)
        norm = BatchNorm2d(outC, momentum: 0.03, eps: 1e-3)
    }

    public var children: [(String, any Module)] { [("conv", conv), ("bn", norm)] }

    public func callAsFunction(_ x: Variable, _ graph: Graph) throws -> Variable {
        graph.activation(try norm(try conv(x, graph), graph), .silu)
    }
}

/// A k×k convolution: plain, or depthwise k×k then pointwise 1×1 (the nano variant).
public final class YOLOXConv: Layer {
    public let parts: [ConvNormAct]

    public init(_ inC: Int, _ outC: Int, kernel: Int, stride: Int = 1, depthwise: Bool, rng: inout RandomState) {
        parts = depthwise
            ? [ConvNormAct(inC, inC, kernel: kernel, stride: stride, groups: inC, rng: &rng), ConvNormAct(inC, outC, kernel: 1, rng: &rng)]
            : [ConvNormAct(inC, outC, kernel: kernel, stride: stride, rng: &rng)]
    }

    public var children: [(String, any Module)] {
        parts.count == 2 ? [("dconv", parts[0]), ("pconv", parts[1])] : [("conv", parts[0])]
    }

    public func callAsFunction(_ x: Variable, _ graph: Graph) throws -> Variable {
        var h = x
        for p in parts { h = try p(h, graph) }
        return h
    }
}

/// 1×1 → k×k (+ input when shapes allow and `shortcut`).
public final class YOLOXBottleneck: Layer {
    public let conv1: ConvNormAct
    public let conv2: YOLOXConv
    public let useAdd: Bool

    public init(_ inC: Int, _ outC: Int, shortcut: Bool, depthwise: Bool, rng: inout RandomState) {
        conv1 = ConvNormAct(inC, outC, kernel: 1, rng: &rng)
        conv2 = YOLOXConv(outC, outC, kernel: 3, depthwise: depthwise, rng: &rng)
        useAdd = shortcut && inC == outC
    }

    public var children: [(String, any Module)] { [("conv1", conv1), ("conv2", conv2)] }

    public func callAsFunction(_ x: Variable, _ graph: Graph) throws -> Variable {
        let y = try conv2(try conv1(x, graph), graph)
        return useAdd ? try graph.add(y, x) : y
    }
}

/// Cross-stage partial layer: two 1×1 branches, n bottlenecks on one, concatenated, 1×1 out.
public final class CSPLayer: Layer {
    public let conv1: ConvNormAct, conv2: ConvNormAct, conv3: ConvNormAct
    public let blocks: [YOLOXBottleneck]

    public init(_ inC: Int, _ outC: Int, n: Int, shortcut: Bool = true, depthwise: Bool, rng: inout RandomState) {
        let hidden = Int(Double(outC) * 0.5)
        conv1 = ConvNormAct(inC, hidden, kernel: 1, rng: &rng)
        conv2 = ConvNormAct(inC, hidden, kernel: 1, rng: &rng)
        conv3 = ConvNormAct(2 * hidden, outC, kernel: 1, rng: &rng)
        var blocks: [YOLOXBottleneck] = []
        for _ in 0..<n { blocks.append(YOLOXBottleneck(hidden, hidden, shortcut: shortcut, depthwise: depthwise, rng: &rng)) }
        self.blocks = blocks
    }

    public var children: [(String, any Module)] {
        [("conv1", conv1), ("conv2", conv2), ("conv3", conv3)] + blocks.enumerated().map { ("m.\($0.offset)", $0.element) }
    }

    public func callAsFunction(_ x: Variable, _ graph: Graph) throws -> Variable {
        var a = try conv1(x, graph)
        for b in blocks { a = try b(a, graph) }
        return try conv3(try graph.concat([a, try conv2(x, graph)], axis: 1), graph)
    }
}

/// Spatial pyramid pooling: 1×1 to half, max pools 5/9/13 (stride 1), concatenated, 1×1 out.
public final class SPPBottleneck: Layer {
    public let conv1: ConvNormAct, conv2: ConvNormAct
    public static let kernels = [5, 9, 13]

    public init(_ inC: Int, _ outC: Int, rng: inout RandomState) {
        let hidden = inC / 2
        conv1 = ConvNormAct(inC, hidden, kernel: 1, rng: &rng)
        conv2 = ConvNormAct(hidden * (Self.kernels.count + 1), outC, kernel: 1, rng: &rng)
    }

    public var children: [(String, any Module)] { [("conv1", conv1), ("conv2", conv2)] }

    public func callAsFunction(_ x: Variable, _ graph: Graph) throws -> Variable {
        let h = try conv1(x, graph)
        let pooled = try Self.kernels.map { try graph.maxPool2d(h, kernel: $0, stride: 1, padding: $0 / 2) }
        return try conv2(try graph.concat([h] + pooled, axis: 1), graph)
    }
}

/// Space-to-depth (the four pixel phases stacked as channels, YOLOX's order), then a conv.
public final class Focus: Layer {
    public let conv: ConvNormAct

    public init(_ inC: Int, _ outC: Int, kernel: Int, rng: inout RandomState) {
        conv = ConvNormAct(4 * inC, outC, kernel: kernel, rng: &rng)
    }

    public var children: [(String, any Module)] { [("conv", conv)] }

    public func callAsFunction(_ x: Variable, _ graph: Graph) throws -> Variable {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        guard h % 2 == 0, w % 2 == 0 else {
            throw TensorError.shapeMismatch(op: "Focus", expected: "even height and width", got: x.shape)
        }
        // (N, C, H/2, hOff, W/2, wOff) → (N, wOff, hOff, C, H/2, W/2): channel groups in the
        // order (even, even), (odd row, even col), (even row, odd col), (odd, odd).
        let split = try graph.reshape(x, [n, c, h / 2, 2, w / 2, 2])
        let phases = try graph.permute(split, [0, 5, 3, 1, 2, 4])
        return try conv(try graph.reshape(phases, [n, 4 * c, h / 2, w / 2]), graph)
    }
}
