/// Layer norm, dropout and the data-movement ops on the tape.
extension Graph {
    /// Normalises the last axis of (rows, features).
    public func layerNorm(_ x: Variable, gamma: Variable, beta: Variable, eps: Float = 1e-5) throws -> Variable {
        guard let features = x.shape.last, gamma.shape == [features], beta.shape == [features] else {
            throw TensorError.shapeMismatch(op: "layerNorm", expected: "gamma/beta [\(x.shape.last ?? 0)]", got: gamma.shape)
        }
        let rows = x.value.count / features
        let out = make(x.shape), mean = make([rows]), invStd = make([rows])
        LayerNormKernel.forward(out.pointer, x.value.pointer, gamma: gamma.value.pointer, beta: beta.value.pointer,
                                savedMean: mean.pointer, savedInvStd: invStd.pointer, rows: rows, features: features, eps: eps)
        let y = output(out, inputs: [x, gamma, beta])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                let dgamma = self.gradient(of: gamma), dbeta = self.gradient(of: beta)
                self.accumulate(x, always: true) { dx in  // always: dgamma and dbeta come from the same pass
                    LayerNormKernel.backward(dx: dx, dgamma: dgamma.pointer, dbeta: dbeta.pointer, dy: dy.pointer,
                                             x: x.value.pointer, gamma: gamma.value.pointer, savedMean: mean.pointer,
                                             savedInvStd: invStd.pointer, rows: rows, features: features)
                }
            }
        }
        return y
    }

    /// Inverted dropout: in training, zeroes each element with probability p and scales the
    /// rest by 1/(1−p); in eval mode, the identity.
    public func dropout(_ x: Variable, probability p: Float, rng: inout RandomState) throws -> Variable {
        guard (0..<1).contains(p) else { throw TensorError.invalidArgument(op: "dropout", message: "probability \(p) outside [0, 1)") }
        guard isTraining, p > 0 else { return x }
        let n = x.value.count
        let mask = make(x.shape), out = make(x.shape)
        let keep = 1 / (1 - p)
        for i in 0..<n {
            mask[i] = rng.nextFloat() < p ? 0 : keep
            out[i] = x.value[i] * mask[i]
        }
        let y = output(out, inputs: [x])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                self.accumulate(x) { d in for i in 0..<n { d[i] = dy[i] * mask[i] } }
            }
        }
        return y
    }

    /// Nearest-neighbour ×2 upsampling of (N, C, H, W).
    public func upsample2x(_ x: Variable) throws -> Variable {
        guard x.shape.count == 4 else { throw TensorError.shapeMismatch(op: "upsample2x", expected: "(N, C, H, W)", got: x.shape) }
        let planes = x.shape[0] * x.shape[1], h = x.shape[2], w = x.shape[3]
        let out = make([x.shape[0], x.shape[1], 2 * h, 2 * w])
        ShapeKernel.upsample2xForward(out.pointer, x.value.pointer, planes: planes, height: h, width: w)
        let y = output(out, inputs: [x])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                self.accumulate(x) { ShapeKernel.upsample2xBackward($0, dy.pointer, planes: planes, height: h, width: w) }
            }
        }
        return y
    }

    /// Concatenation along `axis`; all other axes must agree.
    public func concat(_ parts: [Variable], axis: Int) throws -> Variable {
        guard let first = parts.first, axis >= 0, axis < first.shape.count else {
            throw TensorError.invalidArgument(op: "concat", message: "needs at least one input and an axis inside its rank")
        }
        for p in parts where p.shape.count != first.shape.count
            || zip(p.shape, first.shape).enumerated().contains(where: { $0.offset != axis && $0.element.0 != $0.element.1 }) {
            throw TensorError.shapeMismatch(op: "concat", expected: "\(first.shape) except axis \(axis)", got: p.shape)
        }
        if axis == 1, first.shape.count == 4, parts.allSatisfy({ $0.blocked != nil }) { return concatBlocked(parts) }
        let sizes = parts.map { $0.shape[axis] }
        let outer = first.shape[..<axis].reduce(1, *), inner = first.shape[(axis + 1)...].reduce(1, *)
        var shape = first.shape
        shape[axis] = sizes.reduce(0, +)
        let out = make(shape)
        ShapeKernel.concatForward(out.pointer, parts.map { UnsafePointer($0.value.pointer) }, sizes: sizes, outer: outer, inner: inner)
        let y = output(out, inputs: parts)
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                for (k, p) in parts.enumerated() {
                    self.accumulate(p) { ShapeKernel.concatBackward($0, dy.pointer, index: k, sizes: sizes, outer: outer, inner: inner) }
                }
            }
        }
        return y
    }

    /// x[..., start..<end, ...] along `axis`.
    public func slice(_ x: Variable, axis: Int, start: Int, end: Int) throws -> Variable {
        guard axis >= 0, axis < x.shape.count, 0 <= start, start < end, end <= x.shape[axis] else {
            throw TensorError.invalidArgument(op: "slice", message: "range \(start)..<\(end) on axis \(axis) of \(x.shape)")
        }
        let outer = x.shape[..<axis].reduce(1, *), inner = x.shape[(axis + 1)...].reduce(1, *), length = x.shape[axis]
        var shape = x.shape
        shape[axis] = end - start
        let out = make(shape)
        ShapeKernel.sliceForward(out.pointer, x.value.pointer, outer: outer, length: length, inner: inner, start: start, end: end)
        let y = output(out, inputs: [x])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                self.accumulate(x) {
                    ShapeKernel.sliceBackward($0, dy.pointer, outer: outer, length: length, inner: inner, start: start, end: end)
                }
            }
        }
        return y
    }

    /// Reorders axes: result.shape[i] = x.shape[order[i]].
    public func permute(_ x: Variable, _ order: [Int]) throws -> Variable {
        guard order.sorted() == Array(0..<x.shape.count) else {
            throw TensorError.invalidArgument(op: "permute", message: "\(order) is not a permutation of the \(x.shape.count) axes")
        }
        let out = make(order.map { x.shape[$0] })
        ShapeKernel.permute(out.pointer, x.value.pointer, shape: x.shape, order: order)
        let y = output(out, inputs: [x])
        if y.requiresGrad {
            var inverse = [Int](repeating: 0, count: order.count)
            for (i, o) in order.enumerated() { inverse[o] = i }
            let outShape = out.shape
            record { [unowned self] in
                guard let dy = y.grad else { return }
                self.accumulate(x) { ShapeKernel.permute($0, dy.pointer, shape: outShape, order: inverse) }
            }
        }
        return y
    }
}
