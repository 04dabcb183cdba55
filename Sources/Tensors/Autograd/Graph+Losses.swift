/// Losses beyond cross-entropy: BCE with logits, smooth L1, L1, IoU / GIoU / SIoU for boxes.
/// Targets are constants; each returns a scalar mean.
extension Graph {
    public func bceWithLogits(_ logits: Variable, targets: Tensor) throws -> Variable {
        try elementwiseLoss("bceWithLogits", logits, targets, forward: LossKernel.bceWithLogits) { d, x, t, n, scale in
            LossKernel.bceWithLogitsBackward(d, x, t, count: n, scale: scale)
        }
    }

    public func smoothL1(_ x: Variable, targets: Tensor, beta: Float = 1) throws -> Variable {
        guard beta > 0 else { throw TensorError.invalidArgument(op: "smoothL1", message: "beta must be positive, got \(beta)") }
        return try elementwiseLoss("smoothL1", x, targets, forward: { LossKernel.smoothL1($0, $1, count: $2, beta: beta) }) { d, x, t, n, scale in
            LossKernel.smoothL1Backward(d, x, t, count: n, beta: beta, scale: scale)
        }
    }

    /// mean(1 − overlap) of (N, 4) xyxy boxes, with IoU, GIoU or SIoU as the overlap.
    public func boxLoss(_ boxes: Variable, targets: Tensor, overlap: BoxOverlap = .giou) throws -> Variable {
        guard boxes.shape.count == 2, boxes.shape[1] == 4, boxes.shape == targets.shape else {
            throw TensorError.shapeMismatch(op: "\(overlap.rawValue)Loss", expected: "boxes and targets (N, 4)", got: boxes.shape)
        }
        let n = boxes.shape[0]
        return scalarLoss(boxes, BoxLossKernel.forward(boxes.value.pointer, targets.pointer, count: n, overlap: overlap)) { d, scale in
            BoxLossKernel.backward(d, boxes.value.pointer, targets.pointer, count: n, overlap: overlap, scale: scale)
        }
    }

    /// mean |x − t|.
    public func l1(_ x: Variable, targets: Tensor) throws -> Variable {
        try elementwiseLoss("l1", x, targets, forward: LossKernel.l1) { d, x, t, n, scale in
            LossKernel.l1Backward(d, x, t, count: n, scale: scale)
        }
    }

    /// A mean over elements of x against same-shaped constant targets.
    private func elementwiseLoss(_ op: String, _ x: Variable, _ targets: Tensor,
                                 forward: (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Float,
                                 backward: @escaping (UnsafeMutablePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, Int, Float) -> Void)
        throws -> Variable {
        guard x.shape == targets.shape else {
            throw TensorError.shapeMismatch(op: op, expected: "targets \(x.shape)", got: targets.shape)
        }
        let n = x.value.count
        return scalarLoss(x, forward(x.value.pointer, targets.pointer, n)) { d, scale in
            backward(d, x.value.pointer, targets.pointer, n, scale)
        }
    }

    private func scalarLoss(_ x: Variable, _ value: Float,
                            backward: @escaping (UnsafeMutablePointer<Float>, Float) -> Void) -> Variable {
        let out = make([1])
        out[0] = value
        let y = output(out, inputs: [x])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                self.accumulate(x) { backward($0, dy[0]) }
            }
        }
        return y
    }
}
