import Foundation

/// A compiled, tape-free forward pass for inference: batch norm folded into the preceding
/// convolution, activation (and an optional residual add) fused into the convolution's output
/// pass. It runs on oneDNN primitives (`DNNLNetwork`: the epilogue as post-ops, blocked
/// layouts, compiled once per batch size), or on the engine's own kernels with buffers assigned
/// once per batch size — the reference, and the fallback where oneDNN cannot build a step.
/// Results equal the eval-mode graph within float rounding.
public final class InferencePlan: @unchecked Sendable {
    /// A value produced by a step; slot 0 is the input.
    public struct Slot: Hashable, Sendable { let id: Int }

    enum Step {
        case conv(FusedConv, input: Slot, residual: Slot?, output: Slot)
        case globalAvgPool(input: Slot, output: Slot)
        case maxPool(kernel: Int, stride: Int, padding: Int, input: Slot, output: Slot)
        case linear(weight: Tensor, bias: Tensor?, input: Slot, output: Slot)
        /// Channels of several values of one spatial size, in order.
        case concat(inputs: [Slot], output: Slot)
        /// Nearest-neighbour ×2.
        case upsample2x(input: Slot, output: Slot)
        /// YOLOX's Focus: (C, H, W) → (4C, H/2, W/2), phases (even, even), (odd row, even col),
        /// (even row, odd col), (odd, odd).
        case spaceToDepth(input: Slot, output: Slot)
        /// Detection levels (K, H, W) each → (Σ H·W, K): anchors in level, row, column order.
        case flattenLevels(inputs: [Slot], output: Slot)
    }

    /// A convolution with folded batch norm and fused epilogue.
    struct FusedConv {
        let weight: Tensor      // (Cout, C/g, kh, kw), BN folded in
        let bias: Tensor        // (Cout)
        let stride: Int, padding: Int, dilation: Int, groups: Int
        let activation: Activation
        /// The residual is added after the activation (YOLOX's bottleneck) instead of before.
        var residualAfterActivation = false
        /// Winograd-transformed weights (16, Cout, Cin) for 3×3 stride-1 convolutions.
        let winograd: Tensor?
    }

    /// Batches up to this size run 3×3 stride-1 convolutions by Winograd F(2×2, 3×3).
    public static let winogradMaxBatch = 8

    private var steps: [Step] = []
    private var nextSlot = 1
    public let input = Slot(id: 0)
    private var shapes: [Int: [Int]] = [:]  // per-sample shapes (without the batch axis)
    private var prepared: (batch: Int, buffers: [Int: Tensor])?
    private let scratch = BufferPool()

    public init(inputShape: [Int]) { shapes[0] = inputShape }

    private func newSlot(_ shape: [Int]) -> Slot {
        defer { nextSlot += 1 }
        networks.removeAll()
        prepared = nil
        shapes[nextSlot] = shape
        return Slot(id: nextSlot)
    }

    public func shape(of slot: Slot) -> [Int] { shapes[slot.id]! }

    /// Floats of activations one sample keeps across the plan's slots (what a compiled network
    /// holds per image of its batch size).
    public var activationFloatsPerSample: Int { shapes.values.reduce(0) { $0 + $1.reduce(1, *) } }

    /// Multiply-adds of one sample's forward pass (convolutions and linear layers).
    public var macsPerSample: Int {
        steps.reduce(0) { total, step in
            switch step {
            case .conv(let c, _, _, let out):
                let o = shapes[out.id]!
                return total + o[0] * o[1] * o[2] * (c.weight.count / c.weight.shape[0])
            case .linear(let w, _, _, _): return total + w.count
            default: return total
            }
        }
    }

    /// conv (+ folded batch norm) (+ residual) (+ activation).
    public func conv(_ x: Slot, _ conv: Conv2d, batchNorm bn: BatchNorm2d? = nil, residual: Slot? = nil,
                     activation: Activation = .identity, residualAfterActivation: Bool = false) throws -> Slot {
        let inShape = shape(of: x)
        let w = conv.weight.value
        let outC = w.shape[0], k = w.shape[2]
        let g = ConvGeometry(batch: 1, inChannels: inShape[0], height: inShape[1], width: inShape[2], outChannels: outC,
                             kernel: (k, w.shape[3]), stride: conv.stride, padding: conv.padding, dilation: conv.dilation,
                             groups: conv.groups)
        try g.validate(op: "InferencePlan.conv")
        let weight = w.copy()
        let bias = conv.bias?.value.copy() ?? Tensor(zeros: [outC])
        if let bn {
            let perOut = weight.count / outC
            for o in 0..<outC {
                let scale = bn.gamma.value[o] / (bn.runningVar[o] + bn.eps).squareRoot()
                for i in 0..<perOut { weight.pointer[o * perOut + i] *= scale }
                bias[o] = bn.beta.value[o] + (bias[o] - bn.runningMean[o]) * scale
            }
        }
        let out = newSlot([outC, g.outHeight, g.outWidth])
        if let residual, shape(of: residual) != shape(of: out) {
            throw TensorError.shapeMismatch(op: "InferencePlan.conv residual", expected: "\(shape(of: out))", got: shape(of: residual))
        }
        // Few input channels (an RGB stem) leave too little work per transform: direct is faster.
        let winograd = WinogradKernel.applies(kernel: k, stride: conv.stride.0, padding: conv.padding.0, dilation: conv.dilation.0,
                                              groups: conv.groups) && w.shape[3] == 3 && inShape[0] >= 8
            ? WinogradKernel.transformFilter(weight.pointer, outChannels: outC, inChannels: inShape[0]) : nil
        steps.append(.conv(FusedConv(weight: weight, bias: bias, stride: conv.stride.0, padding: conv.padding.0,
                                     dilation: conv.dilation.0, groups: conv.groups, activation: activation,
                                     residualAfterActivation: residualAfterActivation, winograd: winograd),
                           input: x, residual: residual, output: out))
        return out
    }

    public func concat(_ parts: [Slot]) throws -> Slot {
        let first = shape(of: parts[0])
        guard parts.allSatisfy({ Array(shape(of: $0).dropFirst()) == Array(first.dropFirst()) }) else {
            throw TensorError.shapeMismatch(op: "InferencePlan.concat", expected: "one spatial size", got: parts.flatMap { shape(of: $0) })
        }
        let out = newSlot([parts.reduce(0) { $0 + shape(of: $1)[0] }] + first.dropFirst())
        steps.append(.concat(inputs: parts, output: out))
        return out
    }

    public func upsample2x(_ x: Slot) -> Slot {
        let s = shape(of: x)
        let out = newSlot([s[0], 2 * s[1], 2 * s[2]])
        steps.append(.upsample2x(input: x, output: out))
        return out
    }

    public func spaceToDepth(_ x: Slot) throws -> Slot {
        let s = shape(of: x)
        guard s[1] % 2 == 0, s[2] % 2 == 0 else { throw TensorError.shapeMismatch(op: "InferencePlan.spaceToDepth", expected: "even height and width", got: s) }
        let out = newSlot([4 * s[0], s[1] / 2, s[2] / 2])
        steps.append(.spaceToDepth(input: x, output: out))
        return out
    }

    /// The plan's output: each level's (K, H, W) flattened and transposed, levels one after another.
    public func flattenLevels(_ levels: [Slot]) throws -> Slot {
        let k = shape(of: levels[0])[0]
        guard levels.allSatisfy({ shape(of: $0)[0] == k }) else {
            throw TensorError.shapeMismatch(op: "InferencePlan.flattenLevels", expected: "one channel count", got: levels.flatMap { shape(of: $0) })
        }
        let out = newSlot([levels.reduce(0) { $0 + shape(of: $1)[1] * shape(of: $1)[2] }, k])
        steps.append(.flattenLevels(inputs: levels, output: out))
        return out
    }

    public func globalAvgPool(_ x: Slot) -> Slot {
        let out = newSlot([shape(of: x)[0]])
        steps.append(.globalAvgPool(input: x, output: out))
        return out
    }

    public func maxPool(_ x: Slot, kernel: Int, stride: Int, padding: Int = 0) -> Slot {
        let s = shape(of: x)
        let g = ConvGeometry(batch: 1, inChannels: s[0], height: s[1], width: s[2], outChannels: s[0],
                             kernel: (kernel, kernel), stride: (stride, stride), padding: (padding, padding))
        let out = newSlot([s[0], g.outHeight, g.outWidth])
        steps.append(.maxPool(kernel: kernel, stride: stride, padding: padding, input: x, output: out))
        return out
    }

    public func linear(_ x: Slot, _ layer: Linear) -> Slot {
        let out = newSlot([layer.weight.shape[0]])
        steps.append(.linear(weight: layer.weight.value.copy(), bias: layer.bias?.value.copy(), input: x, output: out))
        return out
    }

    /// Assigns buffers for `batch`: a buffer is reused once its last reader has run.
    private func prepare(batch: Int) -> [Int: Tensor] {
        if let p = prepared, p.batch == batch { return p.buffers }
        let lastUse = Step.lastUses(steps)
        let pool = BufferPool()
        var buffers: [Int: Tensor] = [:]
        var live: [Int: Tensor] = [:]
        for (i, step) in steps.enumerated() {
            let o = step.output
            let t = Tensor(uninitialized: [batch] + shapes[o.id]!, pool: pool)
            buffers[o.id] = t
            live[o.id] = t
            for s in step.inputs where lastUse[s.id] == i && s.id != 0 {
                if let dead = live.removeValue(forKey: s.id) { pool.recycle(dead.storage) }
            }
        }
        prepared = (batch, buffers)
        return buffers
    }

    /// Turns the Winograd path off (for comparisons and tests).
    public var useWinograd = true

    public enum Backend: String, Sendable { case oneDNN, engine }
    /// oneDNN unless `VISIONFLEET_DNNL=0`.
    public static let defaultBackend: Backend = ProcessInfo.processInfo.environment["VISIONFLEET_DNNL"] == "0" ? .engine : .oneDNN
    public var backend = InferencePlan.defaultBackend
    /// Why oneDNN could not build this plan (it then runs on the engine's kernels).
    public private(set) var oneDNNFailure: String?
    /// Compiled oneDNN networks and their output buffers, by batch size (`maxNetworks` kept).
    private var networks: [Int: (network: DNNLNetwork, output: Tensor)] = [:]
    /// How many batch sizes keep a compiled network. A server whose batches vary in size keeps
    /// one per size up to the chunk (`oneDNNChunk + 1`), so no request waits for a compile.
    public var maxNetworks = 4
    /// Threads one run of this plan uses on oneDNN (OpenMP's count is per calling thread, so
    /// plans run side by side on their own threads can split the cores between them).
    public var threads = Parallel.threads

    /// The oneDNN network for `batch`, compiled on first use; nil when oneDNN cannot run the plan.
    private func network(batch: Int) -> (network: DNNLNetwork, output: Tensor)? {
        if let found = networks[batch] { return found }
        guard oneDNNFailure == nil else { return nil }
        do {
            let network = try DNNLNetwork(steps: steps, shapes: shapes, batch: batch, threads: threads)
            if networks.count >= maxNetworks, let evicted = networks.keys.first { networks.removeValue(forKey: evicted) }
            let entry = (network, Tensor(uninitialized: [batch] + shapes[steps.last!.output.id]!))
            networks[batch] = entry
            return entry
        } catch {
            oneDNNFailure = "\(error)"
            return nil
        }
    }

    /// Images per oneDNN run: a large batch goes through in chunks of this many, so each
    /// chunk's activations stay in cache between layers (16: ~10% more images/s than whole
    /// batches of 128 on ResNet-20). `VISIONFLEET_DNNL_CHUNK` overrides it.
    public static let oneDNNChunk = ProcessInfo.processInfo.environment["VISIONFLEET_DNNL_CHUNK"].flatMap(Int.init) ?? 16
    private var chunkedOutputs: [Int: Tensor] = [:]

    /// Runs on oneDNN (in chunks of `oneDNNChunk` images); nil when oneDNN cannot run this plan.
    private func runOnOneDNN(_ input: Tensor, batch: Int) throws -> Tensor? {
        let chunk = min(batch, Self.oneDNNChunk)
        guard let (compiled, chunkOutput) = network(batch: chunk) else { return nil }
        compiled.setProfiling(profiling)
        if chunk == batch {
            try compiled.run(input.pointer, into: chunkOutput.pointer)
            if profiling { lastProfile = compiled.profile }
            return chunkOutput
        }
        let outShape = shapes[steps.last!.output.id]!
        let output = chunkedOutputs[batch] ?? Tensor(uninitialized: [batch] + outShape)
        chunkedOutputs[batch] = output
        let inStride = input.count / batch, outStride = output.count / batch
        var start = 0
        while start < batch {
            let n = min(chunk, batch - start)
            guard let (part, _) = network(batch: n) else { return nil }
            try part.run(input.pointer + start * inStride, into: output.pointer + start * outStride)
            start += n
        }
        return output
    }

    /// oneDNN's reorders in the network for `batch` (layout changes the plan could not avoid).
    public func oneDNNReorders(batch: Int) -> Int? { network(batch: batch)?.network.reorders }

    /// Per-step wall time of the last `run` when `profiling` is on: (step description, seconds).
    public var profiling = false
    public private(set) var lastProfile: [(String, Double)] = []

    /// The output slot's values for `input` (N, ...); the returned tensor is reused by the next call.
    public func run(_ input: Tensor) throws -> Tensor {
        guard Array(input.shape.dropFirst()) == shapes[0]! else {
            throw TensorError.shapeMismatch(op: "InferencePlan.run", expected: "(N, \(shapes[0]!.map(String.init).joined(separator: ", ")))",
                                            got: input.shape)
        }
        let batch = input.shape[0]
        if backend == .oneDNN, let output = try runOnOneDNN(input, batch: batch) { return output }
        var buffers = prepare(batch: batch)
        buffers[0] = input
        lastProfile.removeAll(keepingCapacity: true)
        let clock = ContinuousClock()
        for step in steps {
            let started = profiling ? clock.now : nil
            defer {
                if let started {
                    let d = clock.now - started
                    lastProfile.append((step.label(shapes), Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18))
                }
            }
            switch step {
            case .conv(let c, let x, let residual, let out):
                let s = shapes[x.id]!, o = shapes[out.id]!
                let g = ConvGeometry(batch: batch, inChannels: s[0], height: s[1], width: s[2], outChannels: o[0],
                                     kernel: (c.weight.shape[2], c.weight.shape[3]), stride: (c.stride, c.stride),
                                     padding: (c.padding, c.padding), dilation: (c.dilation, c.dilation), groups: c.groups)
                let y = buffers[out.id]!
                if let u = c.winograd, batch <= Self.winogradMaxBatch, useWinograd {
                    for n in 0..<batch {
                        WinogradKernel.forward(y.pointer + n * o[0] * o[1] * o[2], buffers[x.id]!.pointer + n * s[0] * s[1] * s[2], u.pointer,
                                               inChannels: s[0], outChannels: o[0], height: s[1], width: s[2], pool: scratch)
                    }
                } else {
                    Conv2dKernel.forward(y.pointer, buffers[x.id]!.pointer, c.weight.pointer, nil, g, scratch: scratch)
                }
                Self.epilogue(y.pointer, bias: c.bias.pointer, residual: residual.map { buffers[$0.id]!.pointer },
                              activation: c.activation, afterActivation: c.residualAfterActivation, batch: batch, channels: o[0], plane: o[1] * o[2])
            case .globalAvgPool(let x, let out):
                let s = shapes[x.id]!
                PoolingKernel.globalAverageForward(buffers[out.id]!.pointer, buffers[x.id]!.pointer,
                                                   rows: batch * s[0], plane: s[1] * s[2])
            case .maxPool(let kernel, let stride, let padding, let x, let out):
                let s = shapes[x.id]!
                let g = ConvGeometry(batch: batch, inChannels: s[0], height: s[1], width: s[2], outChannels: s[0],
                                     kernel: (kernel, kernel), stride: (stride, stride), padding: (padding, padding))
                let argmax = UnsafeMutablePointer<Int32>.allocate(capacity: buffers[out.id]!.count)
                PoolingKernel.maxForward(buffers[out.id]!.pointer, argmax: argmax, buffers[x.id]!.pointer, g)
                argmax.deallocate()
            case .linear(let w, let b, let x, let out):
                LinearKernel.forward(buffers[out.id]!.pointer, buffers[x.id]!.pointer, w.pointer, b?.pointer,
                                     batch: batch, inFeatures: w.shape[1], outFeatures: w.shape[0])
            case .concat(let parts, let out):
                let plane = shapes[out.id]![1] * shapes[out.id]![2]
                ShapeKernel.concatForward(buffers[out.id]!.pointer, parts.map { UnsafePointer(buffers[$0.id]!.pointer) },
                                          sizes: parts.map { shapes[$0.id]![0] }, outer: batch, inner: plane)
            case .upsample2x(let x, let out):
                let s = shapes[x.id]!
                ShapeKernel.upsample2xForward(buffers[out.id]!.pointer, buffers[x.id]!.pointer, planes: batch * s[0], height: s[1], width: s[2])
            case .spaceToDepth(let x, let out):
                let s = shapes[x.id]!
                ShapeKernel.permute(buffers[out.id]!.pointer, buffers[x.id]!.pointer, shape: [batch, s[0], s[1] / 2, 2, s[2] / 2, 2],
                                    order: [0, 5, 3, 1, 2, 4])
            case .flattenLevels(let levels, let out):
                let total = shapes[out.id]![0], k = shapes[out.id]![1]
                var offset = 0
                for level in levels {
                    let s = shapes[level.id]!, plane = s[1] * s[2]
                    for n in 0..<batch {
                        let src = buffers[level.id]!.pointer + n * k * plane, dst = buffers[out.id]!.pointer + (n * total + offset) * k
                        for a in 0..<plane { for c in 0..<k { dst[a * k + c] = src[c * plane + a] } }
                    }
                    offset += plane
                }
            }
        }
        return buffers[steps.last!.output.id]!
    }

    /// y = act(y + bias[c] (+ residual)) in one pass over the conv output.
    static func epilogue(_ y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, residual: UnsafePointer<Float>?,
                         activation: Activation, afterActivation: Bool = false, batch: Int, channels: Int, plane: Int) {
        Parallel.forEachChunk(batch * channels, minimumPerChunk: Parallel.rowsPerChunk(plane)) { _, rows in
            for r in rows {
                let b = bias[r % channels]
                let p = y + r * plane
                if let residual, afterActivation {
                    let q = residual + r * plane
                    for i in 0..<plane { p[i] = activation.apply(p[i] + b) + q[i] }
                } else if let residual {
                    let q = residual + r * plane
                    if activation == .relu { for i in 0..<plane { p[i] = max(p[i] + b + q[i], 0) } }
                    else { for i in 0..<plane { p[i] = activation.apply(p[i] + b + q[i]) } }
                } else if activation == .relu {
                    for i in 0..<plane { p[i] = max(p[i] + b, 0) }
                } else if activation == .identity {
                    for i in 0..<plane { p[i] += b }
                } else {
                    for i in 0..<plane { p[i] = activation.apply(p[i] + b) }
                }
            }
        }
    }
}

extension InferencePlan.Step {
    func label(_ shapes: [Int: [Int]]) -> String {
        switch self {
        case .conv(let c, let x, let r, let o):
            let k = c.weight.shape[2]
            return "conv\(k)x\(k)/\(c.stride) \(shapes[x.id]![0])→\(shapes[o.id]![0]) @\(shapes[o.id]![1])x\(shapes[o.id]![2])"
                + (r == nil ? "" : " +res") + (c.activation == .identity ? "" : " +\(c.activation)")
        case .globalAvgPool: return "global avg pool"
        case .maxPool: return "max pool"
        case .linear(let w, _, _, _): return "linear \(w.shape[1])→\(w.shape[0])"
        case .concat(let parts, _): return "concat ×\(parts.count)"
        case .upsample2x: return "upsample 2x"
        case .spaceToDepth: return "space to depth"
        case .flattenLevels(let levels, _): return "flatten \(levels.count) levels"
        }
    }

    /// The index of the last step that reads each slot.
    static func lastUses(_ steps: [InferencePlan.Step]) -> [Int: Int] {
        var last: [Int: Int] = [:]
        for (i, step) in steps.enumerated() { for s in step.inputs { last[s.id] = i } }
        return last
    }

    var inputs: [InferencePlan.Slot] {
        switch self {
        case .conv(_, let x, let r, _): [x] + (r.map { [$0] } ?? [])
        case .globalAvgPool(let x, _), .maxPool(_, _, _, let x, _), .linear(_, _, let x, _), .upsample2x(let x, _), .spaceToDepth(let x, _): [x]
        case .concat(let parts, _), .flattenLevels(let parts, _): parts
        }
    }

    var output: InferencePlan.Slot {
        switch self {
        case .conv(_, _, _, let o), .globalAvgPool(_, let o), .maxPool(_, _, _, _, let o), .linear(_, _, _, let o), .concat(_, let o),
             .upsample2x(_, let o), .spaceToDepth(_, let o), .flattenLevels(_, let o): o
        }
    }
}
