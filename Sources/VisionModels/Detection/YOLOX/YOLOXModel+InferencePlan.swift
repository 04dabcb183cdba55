import Tensors

/// YOLOX as a fused inference plan: every conv with its batch norm folded and SiLU fused, the
/// bottleneck's shortcut added after the activation, concatenations, nearest upsampling, SPP's
/// stride-1 max pools, Focus's space-to-depth, and the head's levels flattened to (anchors,
/// 4 + 1 + classes) in the decoder's order — what `callAsFunction` returns, without the tape.
extension YOLOXModel {
    public func inferencePlan(height: Int, width: Int) throws -> InferencePlan {
        guard height % 32 == 0, width % 32 == 0 else {
            throw TensorError.shapeMismatch(op: "YOLOX plan", expected: "height and width multiples of 32", got: [height, width])
        }
        let plan = InferencePlan(inputShape: [stem.conv.conv.weight.shape[1] / 4, height, width])
        func cna(_ x: InferencePlan.Slot, _ m: ConvNormAct, residual: InferencePlan.Slot? = nil) throws -> InferencePlan.Slot {
            try plan.conv(x, m.conv, batchNorm: m.norm, residual: residual, activation: .silu, residualAfterActivation: residual != nil)
        }
        func yconv(_ x: InferencePlan.Slot, _ m: YOLOXConv, residual: InferencePlan.Slot? = nil) throws -> InferencePlan.Slot {
            var h = x
            for (i, p) in m.parts.enumerated() { h = try cna(h, p, residual: i == m.parts.count - 1 ? residual : nil) }
            return h
        }
        func csp(_ x: InferencePlan.Slot, _ m: CSPLayer) throws -> InferencePlan.Slot {
            var a = try cna(x, m.conv1)
            for b in m.blocks { a = try yconv(try cna(a, b.conv1), b.conv2, residual: b.useAdd ? a : nil) }
            return try cna(try plan.concat([a, try cna(x, m.conv2)]), m.conv3)
        }
        func layer(_ x: InferencePlan.Slot, _ l: any Layer) throws -> InferencePlan.Slot {
            switch l {
            case let c as YOLOXConv: return try yconv(x, c)
            case let c as CSPLayer: return try csp(x, c)
            case let s as SPPBottleneck:
                let h = try cna(x, s.conv1)
                let pooled = SPPBottleneck.kernels.map { plan.maxPool(h, kernel: $0, stride: 1, padding: $0 / 2) }
                return try cna(try plan.concat([h] + pooled), s.conv2)
            default: throw TensorError.invalidArgument(op: "YOLOX plan", message: "no plan for \(type(of: l))")
            }
        }
        func run(_ layers: [any Layer], _ x: InferencePlan.Slot) throws -> InferencePlan.Slot { try layers.reduce(x) { try layer($0, $1) } }
        let x2 = try run(dark3, try run(dark2, try cna(try plan.spaceToDepth(plan.input), stem.conv)))
        let x1 = try run(dark4, x2)
        let x0 = try run(dark5, x1)
        let fpnOut0 = try cna(x0, lateral0)
        let f0 = try csp(try plan.concat([plan.upsample2x(fpnOut0), x1]), c3p4)
        let fpnOut1 = try cna(f0, reduce1)
        let pan2 = try csp(try plan.concat([plan.upsample2x(fpnOut1), x2]), c3p3)
        let pan1 = try csp(try plan.concat([try yconv(pan2, buConv2), fpnOut1]), c3n3)
        let pan0 = try csp(try plan.concat([try yconv(pan1, buConv1), fpnOut0]), c3n4)
        let levels = try [pan2, pan1, pan0].enumerated().map { l, feature in
            let s = try cna(feature, headStems[l])
            let cls = try clsConvs[l].reduce(s) { try yconv($0, $1) }
            let reg = try regConvs[l].reduce(s) { try yconv($0, $1) }
            return try plan.concat([try plan.conv(reg, regPreds[l]), try plan.conv(reg, objPreds[l]), try plan.conv(cls, clsPreds[l])])
        }
        _ = try plan.flattenLevels(levels)
        return plan
    }
}
