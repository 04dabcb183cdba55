import Foundation
import Tensors

/// YOLOX (Ge et al., 2021): CSP-Darknet backbone with depth/width multipliers, PAFPN neck and a
/// decoupled head (box, objectness, class branches) at strides 8/16/32. Raw outputs only; the
/// decoder and the losses are separate.
public final class YOLOXModel: Layer {
    public struct Size: Sendable, Equatable {
        public var depth: Double, width: Double, depthwise: Bool
        public init(depth: Double, width: Double, depthwise: Bool) { self.depth = depth; self.width = width; self.depthwise = depthwise }
        public static let nano = Size(depth: 0.33, width: 0.25, depthwise: true)
        public static let tiny = Size(depth: 0.33, width: 0.375, depthwise: false)
        public static let small = Size(depth: 0.33, width: 0.5, depthwise: false)
    }

    public let size: Size
    public let classes: Int
    public let strides = [8, 16, 32]
    // backbone
    let stem: Focus
    let dark2: [any Layer], dark3: [any Layer], dark4: [any Layer], dark5: [any Layer]
    // neck
    let lateral0: ConvNormAct, c3p4: CSPLayer, reduce1: ConvNormAct, c3p3: CSPLayer
    let buConv2: YOLOXConv, c3n3: CSPLayer, buConv1: YOLOXConv, c3n4: CSPLayer
    // head, per level
    let headStems: [ConvNormAct]
    let clsConvs: [[YOLOXConv]], regConvs: [[YOLOXConv]]
    let clsPreds: [Conv2d], regPreds: [Conv2d], objPreds: [Conv2d]

    public init(size: Size, classes: Int, inputChannels: Int = 3, seed: UInt64 = 0) {
        var rng = RandomState(seed: seed)
        self.size = size
        self.classes = classes
        let base = Int(size.width * 64), depth = max(Int((size.depth * 3).rounded()), 1)
        let dw = size.depthwise
        stem = Focus(inputChannels, base, kernel: 3, rng: &rng)
        dark2 = [YOLOXConv(base, base * 2, kernel: 3, stride: 2, depthwise: dw, rng: &rng),
                 CSPLayer(base * 2, base * 2, n: depth, depthwise: dw, rng: &rng)]
        dark3 = [YOLOXConv(base * 2, base * 4, kernel: 3, stride: 2, depthwise: dw, rng: &rng),
                 CSPLayer(base * 4, base * 4, n: depth * 3, depthwise: dw, rng: &rng)]
        dark4 = [YOLOXConv(base * 4, base * 8, kernel: 3, stride: 2, depthwise: dw, rng: &rng),
                 CSPLayer(base * 8, base * 8, n: depth * 3, depthwise: dw, rng: &rng)]
        dark5 = [YOLOXConv(base * 8, base * 16, kernel: 3, stride: 2, depthwise: dw, rng: &rng),
                 SPPBottleneck(base * 16, base * 16, rng: &rng),
                 CSPLayer(base * 16, base * 16, n: depth, shortcut: false, depthwise: dw, rng: &rng)]
        let c = [256, 512, 1024].map { Int(Double($0) * size.width) }
        let n = Int((3 * size.depth).rounded())
        lateral0 = ConvNormAct(c[2], c[1], kernel: 1, rng: &rng)
        c3p4 = CSPLayer(2 * c[1], c[1], n: n, shortcut: false, depthwise: dw, rng: &rng)
        reduce1 = ConvNormAct(c[1], c[0], kernel: 1, rng: &rng)
        c3p3 = CSPLayer(2 * c[0], c[0], n: n, shortcut: false, depthwise: dw, rng: &rng)
        buConv2 = YOLOXConv(c[0], c[0], kernel: 3, stride: 2, depthwise: dw, rng: &rng)
        c3n3 = CSPLayer(2 * c[0], c[1], n: n, shortcut: false, depthwise: dw, rng: &rng)
        buConv1 = YOLOXConv(c[1], c[1], kernel: 3, stride: 2, depthwise: dw, rng: &rng)
        c3n4 = CSPLayer(2 * c[1], c[2], n: n, shortcut: false, depthwise: dw, rng: &rng)
        let hidden = Int(256 * size.width)
        var stems: [ConvNormAct] = [], cls: [[YOLOXConv]] = [], reg: [[YOLOXConv]] = []
        var clsP: [Conv2d] = [], regP: [Conv2d] = [], objP: [Conv2d] = []
        for level in 0..<3 {
            stems.append(ConvNormAct(c[level], hidden, kernel: 1, rng: &rng))
            cls.append((0..<2).map { _ in YOLOXConv(hidden, hidden, kernel: 3, depthwise: dw, rng: &rng) })
            reg.append((0..<2).map { _ in YOLOXConv(hidden, hidden, kernel: 3, depthwise: dw, rng: &rng) })
            clsP.append(Conv2d(hidden, classes, kernel: 1, rng: &rng))
            regP.append(Conv2d(hidden, 4, kernel: 1, rng: &rng))
            objP.append(Conv2d(hidden, 1, kernel: 1, rng: &rng))
        }
        headStems = stems; clsConvs = cls; regConvs = reg; clsPreds = clsP; regPreds = regP; objPreds = objP
        // YOLOX's prior: objectness and class biases start at −log((1 − 0.01) / 0.01).
        let prior = -Float(log((1 - 0.01) / 0.01))
        for p in clsPreds + objPreds { p.bias!.value.fill(prior) }
    }

    public var children: [(String, any Module)] {
        var out: [(String, any Module)] = [("backbone.stem", stem)]
        for (name, stage) in [("dark2", dark2), ("dark3", dark3), ("dark4", dark4), ("dark5", dark5)] {
            for (i, layer) in stage.enumerated() { out.append(("backbone.\(name).\(i)", layer)) }
        }
        out += [("neck.lateral_conv0", lateral0), ("neck.C3_p4", c3p4), ("neck.reduce_conv1", reduce1), ("neck.C3_p3", c3p3),
                ("neck.bu_conv2", buConv2), ("neck.C3_n3", c3n3), ("neck.bu_conv1", buConv1), ("neck.C3_n4", c3n4)]
        for l in 0..<3 {
            out.append(("head.stems.\(l)", headStems[l]))
            for (i, m) in clsConvs[l].enumerated() { out.append(("head.cls_convs.\(l).\(i)", m)) }
            for (i, m) in regConvs[l].enumerated() { out.append(("head.reg_convs.\(l).\(i)", m)) }
            out += [("head.cls_preds.\(l)", clsPreds[l]), ("head.reg_preds.\(l)", regPreds[l]), ("head.obj_preds.\(l)", objPreds[l])]
        }
        return out
    }

    /// Raw predictions per level: (N, 4 + 1 + classes, H/s, W/s) for s = 8, 16, 32.
    public func levels(_ x: Variable, _ graph: Graph) throws -> [Variable] {
        guard x.shape.count == 4, x.shape[2] % 32 == 0, x.shape[3] % 32 == 0 else {
            throw TensorError.shapeMismatch(op: "YOLOX", expected: "(N, C, H, W) with H and W multiples of 32", got: x.shape)
        }
        func run(_ layers: [any Layer], _ h: Variable) throws -> Variable { try layers.reduce(h) { try $1($0, graph) } }
        let x2 = try run(dark3, try run(dark2, try stem(x, graph)))
        let x1 = try run(dark4, x2)
        let x0 = try run(dark5, x1)
        let fpnOut0 = try lateral0(x0, graph)
        let f0 = try c3p4(try graph.concat([try graph.upsample2x(fpnOut0), x1], axis: 1), graph)
        let fpnOut1 = try reduce1(f0, graph)
        let pan2 = try c3p3(try graph.concat([try graph.upsample2x(fpnOut1), x2], axis: 1), graph)
        let pan1 = try c3n3(try graph.concat([try buConv2(pan2, graph), fpnOut1], axis: 1), graph)
        let pan0 = try c3n4(try graph.concat([try buConv1(pan1, graph), fpnOut0], axis: 1), graph)
        return try [pan2, pan1, pan0].enumerated().map { l, feature in
            let s = try headStems[l](feature, graph)
            let clsFeature = try clsConvs[l].reduce(s) { try $1($0, graph) }
            let regFeature = try regConvs[l].reduce(s) { try $1($0, graph) }
            return try graph.concat([try regPreds[l](regFeature, graph), try objPreds[l](regFeature, graph),
                                     try clsPreds[l](clsFeature, graph)], axis: 1)
        }
    }

    /// All levels flattened to (N, anchors, 5 + classes) in the decoder's grid order.
    public func callAsFunction(_ x: Variable, _ graph: Graph) throws -> Variable {
        let flat = try levels(x, graph).map { level -> Variable in
            let (n, c, h, w) = (level.shape[0], level.shape[1], level.shape[2], level.shape[3])
            return try graph.permute(try graph.reshape(level, [n, c, h * w]), [0, 2, 1])
        }
        return try graph.concat(flat, axis: 1)
    }
}
