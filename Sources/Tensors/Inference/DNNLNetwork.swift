import CDNNL

/// An inference plan's steps compiled for one batch size into oneDNN primitives (`vfdnnl.h`):
/// convolutions with bias, residual sum and activation as post-ops, pooling and inner products,
/// activations in oneDNN's blocked layouts in between. Owns the native network.
final class DNNLNetwork {
    private let handle: OpaquePointer

    /// Compiles `steps` for `batch`; throws naming what oneDNN could not build.
    /// oneDNN fixes each primitive's thread count when it is created, from the creating thread's
    /// OpenMP setting: it is set to `threads` while the network is built (a server builds on a
    /// loader thread a network that its batcher thread runs), then restored.
    init(steps: [InferencePlan.Step], shapes: [Int: [Int]], batch: Int, threads: Int) throws {
        let previous = vf_omp_swap_threads(Int32(threads))
        defer { _ = vf_omp_swap_threads(previous) }
        let input = shapes[0]!
        guard let handle = vf_dnnl_net_create(Int32(batch), Int32(input[0]), Int32(input[1]), Int32(input[2]), Int32(threads)) else {
            throw TensorError.invalidArgument(op: "oneDNN", message: "out of memory creating a network")
        }
        self.handle = handle
        let lastUse = InferencePlan.Step.lastUses(steps)
        var slots: [Int: Int32] = [0: 0]
        for (i, step) in steps.enumerated() {
            let made: Int32
            switch step {
            case .conv(let c, let x, let residual, let out):
                let dies: Int32 = residual.map { lastUse[$0.id] == i } == true ? 1 : 0
                made = vf_dnnl_net_conv(handle, slots[x.id]!, residual.map { slots[$0.id]! } ?? -1, dies, c.weight.pointer, c.bias.pointer,
                                        Int32(shapes[out.id]![0]), Int32(c.weight.shape[2]), Int32(c.weight.shape[3]), Int32(c.stride),
                                        Int32(c.padding), Int32(c.dilation), Int32(c.groups), Self.code(c.activation), Activation.leakySlope,
                                        c.residualAfterActivation ? 1 : 0)
            case .globalAvgPool(let x, _):
                made = vf_dnnl_net_global_avg_pool(handle, slots[x.id]!)
            case .maxPool(let kernel, let stride, let padding, let x, _):
                made = vf_dnnl_net_max_pool(handle, slots[x.id]!, Int32(kernel), Int32(stride), Int32(padding))
            case .linear(let w, let b, let x, _):
                made = vf_dnnl_net_linear(handle, slots[x.id]!, w.pointer, b?.pointer, Int32(w.shape[0]))
            case .concat(let parts, _):
                made = parts.map { slots[$0.id]! }.withUnsafeBufferPointer { vf_dnnl_net_concat(handle, $0.baseAddress, Int32($0.count)) }
            case .upsample2x(let x, _):
                made = vf_dnnl_net_upsample2x(handle, slots[x.id]!)
            case .spaceToDepth(let x, _):
                made = vf_dnnl_net_space_to_depth(handle, slots[x.id]!)
            case .flattenLevels(let levels, _):
                made = levels.map { slots[$0.id]! }.withUnsafeBufferPointer { vf_dnnl_net_flatten_levels(handle, $0.baseAddress, Int32($0.count)) }
            }
            guard made >= 0 else { throw error(step.label(shapes)) }
            slots[step.output.id] = made
        }
        guard let last = steps.last, vf_dnnl_net_set_output(handle, slots[last.output.id]!) == 0 else { throw error("output") }
    }

    deinit { vf_dnnl_net_destroy(handle) }

    private func error(_ step: String) -> TensorError {
        let why = vf_dnnl_net_error(handle).map { String(cString: $0) } ?? "unknown failure"
        return TensorError.invalidArgument(op: "oneDNN \(step)", message: why)
    }

    /// `VF_ACT_*` in vfdnnl.h.
    static func code(_ a: Activation) -> Int32 {
        switch a {
        case .identity: 0
        case .relu: 1
        case .relu6: 2
        case .silu: 3
        case .leakyRelu: 4
        case .sigmoid: 5
        case .gelu: 6
        }
    }

    /// Runs on `input` (plain NCHW) into `output` (plain).
    func run(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) throws {
        guard vf_dnnl_net_run(handle, input, output) == 0 else { throw error("run") }
    }

    /// Times each operation of the next runs (waiting for each to finish).
    func setProfiling(_ on: Bool) { vf_dnnl_net_set_profiling(handle, on ? 1 : 0) }

    /// Each operation of the last run: "name [implementation]" and its seconds (when profiling).
    var profile: [(String, Double)] {
        (0..<vf_dnnl_net_op_count(handle)).map { i in
            ("\(String(cString: vf_dnnl_net_op_name(handle, i))) [\(String(cString: vf_dnnl_net_op_impl(handle, i)))]", vf_dnnl_net_op_seconds(handle, i))
        }
    }

    var reorders: Int { Int(vf_dnnl_net_reorder_count(handle)) }
}
