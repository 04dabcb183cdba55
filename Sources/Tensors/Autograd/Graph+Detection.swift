/// Detection ops: YOLOX box decoding and row gather.
extension Graph {
    /// YOLOX boxes (rows, 4) xyxy from raw predictions (rows, ≥ 4) and per-row anchors
    /// (rows × (gx, gy, stride)).
    public func decodeBoxes(_ raw: Variable, anchors: [Float]) throws -> Variable {
        guard raw.shape.count == 2, raw.shape[1] >= 4, anchors.count == raw.shape[0] * 3 else {
            throw TensorError.shapeMismatch(op: "decodeBoxes", expected: "(rows, ≥ 4) with 3 anchor values per row", got: raw.shape)
        }
        let rows = raw.shape[0], width = raw.shape[1]
        let out = make([rows, 4])
        anchors.withUnsafeBufferPointer { DetectionKernel.decodeBoxes(out.pointer, raw.value.pointer, width: width, anchors: $0.baseAddress!, rows: rows) }
        let y = output(out, inputs: [raw])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                self.accumulate(raw) { d in
                    anchors.withUnsafeBufferPointer {
                        DetectionKernel.decodeBoxesBackward(d, dy.pointer, raw.value.pointer, width: width, anchors: $0.baseAddress!, rows: rows)
                    }
                }
            }
        }
        return y
    }

    /// Rows `indices` of (rows, width), in order (repeats allowed; gradients add up).
    public func gatherRows(_ x: Variable, _ indices: [Int]) throws -> Variable {
        guard x.shape.count == 2 else { throw TensorError.shapeMismatch(op: "gatherRows", expected: "(rows, width)", got: x.shape) }
        let rows = x.shape[0], width = x.shape[1]
        if let bad = indices.first(where: { $0 < 0 || $0 >= rows }) {
            throw TensorError.invalidArgument(op: "gatherRows", message: "row \(bad) outside 0..<\(rows)")
        }
        let out = make([indices.count, width])
        DetectionKernel.gather(out.pointer, x.value.pointer, rows: indices, width: width)
        let y = output(out, inputs: [x])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                self.accumulate(x) { DetectionKernel.gatherBackward($0, dy.pointer, rows: indices, width: width, sourceRows: rows) }
            }
        }
        return y
    }
}
