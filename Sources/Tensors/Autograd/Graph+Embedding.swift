/// Ops of embedding models and metric-learning losses.
extension Graph {
    /// Each row of (N, D) scaled to unit L2 norm.
    public func l2Normalize(_ x: Variable) throws -> Variable {
        guard x.shape.count == 2 else { throw TensorError.shapeMismatch(op: "l2Normalize", expected: "(N, D)", got: x.shape) }
        let rows = x.shape[0], width = x.shape[1]
        let out = make(x.shape), norms = make([rows])
        EmbeddingKernel.l2Normalize(out.pointer, norms.pointer, x.value.pointer, rows: rows, width: width)
        let y = output(out, inputs: [x])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                self.accumulate(x) { EmbeddingKernel.l2NormalizeBackward($0, dy.pointer, out.pointer, norms.pointer, rows: rows, width: width) }
            }
        }
        return y
    }

    /// Generalised-mean pooling of (N, C, H, W) to (N, C) with a fixed exponent `p`.
    public func gemPool(_ x: Variable, p: Float = 3, eps: Float = 1e-6) throws -> Variable {
        guard x.shape.count == 4 else { throw TensorError.shapeMismatch(op: "gemPool", expected: "(N, C, H, W)", got: x.shape) }
        guard p >= 1 else { throw TensorError.invalidArgument(op: "gemPool", message: "p must be ≥ 1, got \(p)") }
        let rows = x.shape[0] * x.shape[1], plane = x.shape[2] * x.shape[3]
        let out = make([x.shape[0], x.shape[1]])
        EmbeddingKernel.gem(out.pointer, x.value.pointer, rows: rows, plane: plane, p: p, eps: eps)
        let y = output(out, inputs: [x])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                self.accumulate(x) { EmbeddingKernel.gemBackward($0, dy.pointer, out.pointer, x.value.pointer, rows: rows, plane: plane, p: p, eps: eps) }
            }
        }
        return y
    }

    /// Maximum over each plane of (N, C, H, W), to (N, C).
    public func globalMaxPool(_ x: Variable) throws -> Variable {
        guard x.shape.count == 4 else { throw TensorError.shapeMismatch(op: "globalMaxPool", expected: "(N, C, H, W)", got: x.shape) }
        let rows = x.shape[0] * x.shape[1], plane = x.shape[2] * x.shape[3]
        let out = make([x.shape[0], x.shape[1]])
        var argmax = [Int32](repeating: 0, count: rows)
        argmax.withUnsafeMutableBufferPointer { EmbeddingKernel.globalMax(out.pointer, $0.baseAddress!, x.value.pointer, rows: rows, plane: plane) }
        let y = output(out, inputs: [x])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                self.accumulate(x) { d in argmax.withUnsafeBufferPointer { EmbeddingKernel.globalMaxBackward(d, dy.pointer, $0.baseAddress!, rows: rows, plane: plane) } }
            }
        }
        return y
    }

    /// ArcFace logits from cosines (N, classes): s·cos(θ + m) at the target, s·cos θ elsewhere.
    public func arcFace(_ cosine: Variable, targets: [Int32], scale: Float = 30, margin: Float = 0.5) throws -> Variable {
        guard cosine.shape.count == 2, cosine.shape[0] == targets.count else {
            throw TensorError.shapeMismatch(op: "arcFace", expected: "cosines (\(targets.count), classes)", got: cosine.shape)
        }
        let rows = cosine.shape[0], classes = cosine.shape[1]
        if let bad = targets.first(where: { $0 < 0 || Int($0) >= classes }) {
            throw TensorError.invalidArgument(op: "arcFace", message: "target \(bad) outside 0..<\(classes)")
        }
        let a = EmbeddingKernel.ArcMargin(scale: scale, margin: margin)
        let out = make(cosine.shape)
        targets.withUnsafeBufferPointer { EmbeddingKernel.arcFace(out.pointer, cosine.value.pointer, targets: $0.baseAddress!, rows: rows, classes: classes, a) }
        let y = output(out, inputs: [cosine])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                self.accumulate(cosine) { d in
                    targets.withUnsafeBufferPointer {
                        EmbeddingKernel.arcFaceBackward(d, dy.pointer, cosine.value.pointer, targets: $0.baseAddress!, rows: rows, classes: classes, a)
                    }
                }
            }
        }
        return y
    }

    /// Batch-hard triplet loss on an (N, N) cosine-similarity matrix of unit embeddings.
    public func tripletBatchHard(_ similarity: Variable, labels: [Int32], margin: Float = 0.3) throws -> Variable {
        try similarityLoss(similarity, labels: labels, op: "tripletBatchHard") { s, l, n, g in
            EmbeddingKernel.tripletBatchHard(s, labels: l, n: n, margin: margin, grad: g)
        }
    }

    /// Supervised contrastive loss (NT-Xent with labels) on an (N, N) similarity matrix.
    public func supervisedContrastive(_ similarity: Variable, labels: [Int32], temperature: Float = 0.1) throws -> Variable {
        guard temperature > 0 else { throw TensorError.invalidArgument(op: "supervisedContrastive", message: "temperature must be positive") }
        return try similarityLoss(similarity, labels: labels, op: "supervisedContrastive") { s, l, n, g in
            EmbeddingKernel.supervisedContrastive(s, labels: l, n: n, temperature: temperature, grad: g)
        }
    }

    private func similarityLoss(_ similarity: Variable, labels: [Int32], op: String,
                                _ kernel: (UnsafePointer<Float>, UnsafePointer<Int32>, Int, UnsafeMutablePointer<Float>?) -> Float) throws -> Variable {
        let n = labels.count
        guard similarity.shape == [n, n] else { throw TensorError.shapeMismatch(op: op, expected: "(\(n), \(n))", got: similarity.shape) }
        let grad = make([n, n])
        let out = make([1])
        out[0] = labels.withUnsafeBufferPointer { kernel(similarity.value.pointer, $0.baseAddress!, n, isRecording ? grad.pointer : nil) }
        let y = output(out, inputs: [similarity])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                self.accumulate(similarity) { d in for i in 0..<(n * n) { d[i] = grad.pointer[i] * dy[0] } }
            }
        }
        return y
    }
}
