/// The primitive differentiable ops. Each runs its kernel's forward and records a closure that
/// runs the kernel's backward.
extension Graph {
    public func conv2d(_ x: Variable, weight: Variable, bias: Variable?, stride: (Int, Int) = (1, 1),
                       padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1) throws -> Variable {
        guard x.shape.count == 4, weight.shape.count == 4 else {
            throw TensorError.shapeMismatch(op: "conv2d", expected: "input (N,C,H,W) and weight (O,C/g,kh,kw)", got: x.shape + weight.shape)
        }
        let g = ConvGeometry(batch: x.shape[0], inChannels: x.shape[1], height: x.shape[2], width: x.shape[3],
                             outChannels: weight.shape[0], kernel: (weight.shape[2], weight.shape[3]),
                             stride: stride, padding: padding, dilation: dilation, groups: groups)
        try g.validate(op: "conv2d")
        guard weight.shape[1] == g.inPerGroup else {
            throw TensorError.shapeMismatch(op: "conv2d", expected: "weight[1] = C/groups = \(g.inPerGroup)", got: weight.shape)
        }
        if let bias, bias.shape != [g.outChannels] {
            throw TensorError.shapeMismatch(op: "conv2d bias", expected: "[\(g.outChannels)]", got: bias.shape)
        }
        let outShape = [g.batch, g.outChannels, g.outHeight, g.outWidth]
        let out = make(outShape)
        // oneDNN's primitives where it has one for this geometry (input and output in the
        // blocked layout when the primitive works in it); the engine's kernel otherwise.
        let dnnl = useDNNL ? DNNLConvolution.shared(g, hasBias: bias != nil) : nil
        let inputBlocked = dnnl != nil && x.blocked != nil
        let input = inputBlocked ? x.blocked!.pointer : x.value.pointer
        let blockedOut = dnnl?.writesBlocked == true && outputBlock(channels: g.outChannels) > 0
        let y: Variable
        let inputs = [x, weight] + (bias.map { [$0] } ?? [])
        if let dnnl, dnnl.forward(out.pointer, outBlocked: blockedOut, input, inputBlocked: inputBlocked, weight.value.pointer,
                                  bias?.value.pointer) {
            // Profiles name the implementation oneDNN chose, so a slow fallback shows.
            let label = profile == nil ? #function : "conv2d [\(dnnl.implementations[0])]"
            y = output(out, inputs: inputs, blocked: blockedOut, op: label)
        } else {
            Conv2dKernel.forward(out.pointer, x.value.pointer, weight.value.pointer, bias?.value.pointer, g, scratch: pool)
            y = output(out, inputs: inputs, op: profile == nil ? #function : "conv2d [engine]")
        }
        if y.requiresGrad {
            let dnnlOutput = y.blocked != nil
            let label = profile == nil ? #function : "conv2d [\(dnnl.map { "\($0.implementations[1]), \($0.implementations[2])" } ?? "engine")]"
            record(op: label) { [unowned self] in
                guard let dy = dnnlOutput ? self.blockedGradient(of: y) : y.grad else { return }
                let dw = self.gradient(of: weight)
                let db = bias.flatMap { $0.requiresGrad ? self.gradient(of: $0) : nil }
                func backward(_ dx: UnsafeMutablePointer<Float>?) {
                    if dnnl?.backward(dInput: dx, dWeight: dw.pointer, dBias: db?.pointer, dOut: dy.pointer, outBlocked: dnnlOutput,
                                      input: input, inputBlocked: inputBlocked, weight: weight.value.pointer, scratch: self.pool) == true {
                        return
                    }
                    self.conv2dBackwardOnEngine(g, dx: dx, dxBlocked: inputBlocked, dy: dy, dyBlocked: dnnlOutput, x: x, weight: weight,
                                                dw: dw, db: db)
                }
                if !x.requiresGrad { backward(nil) } else { self.accumulate(x, blocked: inputBlocked) { backward($0) } }
            }
        }
        return y
    }

    /// The engine's backward convolution, on plain copies of blocked arguments (the reference
    /// path, and the stand-in should a oneDNN call fail).
    private func conv2dBackwardOnEngine(_ g: ConvGeometry, dx: UnsafeMutablePointer<Float>?, dxBlocked: Bool, dy: Tensor, dyBlocked: Bool,
                                        x: Variable, weight: Variable, dw: Tensor, db: Tensor?) {
        var dyPlain = dy
        if dyBlocked {
            dyPlain = make(dy.shape)
            BlockedLayout.toPlain(dyPlain.pointer, dy.pointer, shape: dy.shape)
        }
        let dxPlain = dxBlocked ? make(x.shape) : nil
        Conv2dKernel.backward(dInput: dxPlain?.pointer ?? dx, dWeight: dw.pointer, dBias: db?.pointer, dOut: dyPlain.pointer,
                              input: x.value.pointer, weight: weight.value.pointer, g, scratch: pool)
        if let dxPlain, let dx { BlockedLayout.toBlocked(dx, dxPlain.pointer, shape: x.shape) }
    }

    public func linear(_ x: Variable, weight: Variable, bias: Variable?) throws -> Variable {
        guard x.shape.count == 2, weight.shape.count == 2, x.shape[1] == weight.shape[1] else {
            throw TensorError.shapeMismatch(op: "linear", expected: "x (N, \(weight.shape.last ?? 0))", got: x.shape)
        }
        let n = x.shape[0], i = x.shape[1], o = weight.shape[0]
        let out = make([n, o])
        LinearKernel.forward(out.pointer, x.value.pointer, weight.value.pointer, bias?.value.pointer,
                             batch: n, inFeatures: i, outFeatures: o)
        let y = output(out, inputs: [x, weight] + (bias.map { [$0] } ?? []))
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                let dw = self.gradient(of: weight)
                let db = bias.flatMap { $0.requiresGrad ? self.gradient(of: $0) : nil }
                LinearKernel.backwardWeight(dw: dw.pointer, db: db?.pointer, dy: dy.pointer, x: x.value.pointer,
                                            batch: n, inFeatures: i, outFeatures: o)
                self.accumulate(x) { dx in
                    LinearKernel.backwardInput(dx, dy: dy.pointer, w: weight.value.pointer, batch: n, inFeatures: i, outFeatures: o)
                }
            }
        }
        return y
    }

    /// Batch norm over channel axis 1 of (N, C, ...), then optionally `+ residual` and an
    /// activation — act(bn(x) + residual), a residual block's tail. Training mode uses batch
    /// statistics and updates the running ones in place; eval mode uses the running ones. On
    /// blocked training values a ReLU tail runs fused in the normalisation's own passes;
    /// elsewhere the tail is the same ops one after another.
    public func batchNorm(_ x: Variable, gamma: Variable, beta: Variable, runningMean: Tensor, runningVar: Tensor,
                          momentum: Float = 0.1, eps: Float = 1e-5, residual: Variable? = nil, activation: Activation? = nil) throws -> Variable {
        guard x.shape.count >= 2, gamma.shape == [x.shape[1]], beta.shape == [x.shape[1]] else {
            throw TensorError.shapeMismatch(op: "batchNorm", expected: "gamma/beta [C] for input (N, C, ...)", got: x.shape)
        }
        if let residual, residual.shape != x.shape {
            throw TensorError.shapeMismatch(op: "batchNorm residual", expected: "\(x.shape)", got: residual.shape)
        }
        if isTraining, let xb = x.blocked {
            // What the kernel can take in its passes: a blocked residual, then ReLU.
            let fused = residual.flatMap { r in r.blocked.map { (variable: r, blocked: $0) } }
            let relu = activation == .relu && (residual == nil || fused != nil)
            var y = batchNormBlocked(x, xb, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar, momentum: momentum,
                                     eps: eps, residual: fused, relu: relu)
            if let residual, fused == nil { y = try add(y, residual) }
            if let activation, !relu { y = self.activation(y, activation) }
            return y
        }
        var y = normalize(x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar, momentum: momentum, eps: eps)
        if let residual { y = try add(y, residual) }
        if let activation { y = self.activation(y, activation) }
        return y
    }

    /// Batch norm of plain values (blocked training values go to `batchNormBlocked`).
    private func normalize(_ x: Variable, gamma: Variable, beta: Variable, runningMean: Tensor, runningVar: Tensor,
                           momentum: Float, eps: Float) -> Variable {
        let n = x.shape[0], c = x.shape[1], plane = x.shape.dropFirst(2).reduce(1, *)
        let out = make(x.shape)
        guard isTraining else {
            BatchNormKernel.forwardInference(out.pointer, x.value.pointer, gamma: gamma.value.pointer, beta: beta.value.pointer,
                                             runningMean: runningMean.pointer, runningVar: runningVar.pointer,
                                             batch: n, channels: c, plane: plane, eps: eps)
            return output(out, inputs: [x, gamma, beta], op: "batchNorm")
        }
        let mean = make([c]), invStd = make([c])
        BatchNormKernel.forwardTraining(out.pointer, x.value.pointer, gamma: gamma.value.pointer, beta: beta.value.pointer,
                                        runningMean: runningMean.pointer, runningVar: runningVar.pointer,
                                        savedMean: mean.pointer, savedInvStd: invStd.pointer,
                                        batch: n, channels: c, plane: plane, momentum: momentum, eps: eps)
        let y = output(out, inputs: [x, gamma, beta], op: "batchNorm")
        if y.requiresGrad {
            record(op: "batchNorm") { [unowned self] in
                guard let dy = y.grad else { return }
                let dgamma = self.gradient(of: gamma), dbeta = self.gradient(of: beta)
                self.accumulate(x, always: true) { dx in  // always: dgamma and dbeta come from the same pass
                    BatchNormKernel.backward(dx: dx, dgamma: dgamma.pointer, dbeta: dbeta.pointer, dy: dy.pointer,
                                             x: x.value.pointer, gamma: gamma.value.pointer, savedMean: mean.pointer,
                                             savedInvStd: invStd.pointer, batch: n, channels: c, plane: plane)
                }
            }
        }
        return y
    }

    public func activation(_ x: Variable, _ kind: Activation) -> Variable {
        if let blocked = x.blocked { return activationBlocked(x, blocked, kind) }
        let out = make(x.shape)
        kind.forward(out.pointer, x.value.pointer, count: x.value.count)
        let y = output(out, inputs: [x])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                self.accumulate(x) { kind.backward($0, dy.pointer, x.value.pointer, count: x.value.count) }
            }
        }
        return y
    }

    public func relu(_ x: Variable) -> Variable { activation(x, .relu) }

    public func add(_ a: Variable, _ b: Variable) throws -> Variable {
        guard a.shape == b.shape else { throw TensorError.shapeMismatch(op: "add", expected: "\(a.shape)", got: b.shape) }
        if let pa = a.blocked, let pb = b.blocked { return addBlocked(a, pa, b, pb) }
        let out = make(a.shape)
        let n = a.value.count
        let pa = a.value.pointer, pb = b.value.pointer, po = out.pointer
        Parallel.forEachChunk(n, minimumPerChunk: Parallel.elementsPerChunk) { _, r in for i in r { po[i] = pa[i] + pb[i] } }
        let y = output(out, inputs: [a, b])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                for v in [a, b] { self.accumulate(v) { $0.update(from: dy.pointer, count: n) } }
            }
        }
        return y
    }

    public func mul(_ a: Variable, _ b: Variable) throws -> Variable {
        guard a.shape == b.shape else { throw TensorError.shapeMismatch(op: "mul", expected: "\(a.shape)", got: b.shape) }
        let out = make(a.shape)
        let n = a.value.count
        for i in 0..<n { out.pointer[i] = a.value.pointer[i] * b.value.pointer[i] }
        let y = output(out, inputs: [a, b])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                self.accumulate(a) { d in for i in 0..<n { d[i] = dy.pointer[i] * b.value.pointer[i] } }
                self.accumulate(b) { d in for i in 0..<n { d[i] = dy.pointer[i] * a.value.pointer[i] } }
            }
        }
        return y
    }

    public func maxPool2d(_ x: Variable, kernel: Int, stride: Int, padding: Int = 0) throws -> Variable {
        let g = try poolGeometry(x, kernel: kernel, stride: stride, padding: padding, op: "maxPool2d")
        let out = make([g.batch, g.inChannels, g.outHeight, g.outWidth])
        if useDNNLPooling, let xb = x.blocked, let primitive = DNNLMaxPool.shared(g, block: BlockedLayout.block) {
            return maxPoolBlocked(x, xb, out, primitive)
        }
        let argmax = UnsafeMutablePointer<Int32>.allocate(capacity: out.count)
        PoolingKernel.maxForward(out.pointer, argmax: argmax, x.value.pointer, g)
        let y = output(out, inputs: [x])
        if y.requiresGrad {
            record { [unowned self] in
                defer { argmax.deallocate() }
                guard let dy = y.grad else { return }
                self.accumulate(x) { PoolingKernel.maxBackward($0, dy.pointer, argmax: argmax, g) }
            }
        } else {
            argmax.deallocate()
        }
        return y
    }

    public func avgPool2d(_ x: Variable, kernel: Int, stride: Int, padding: Int = 0) throws -> Variable {
        let g = try poolGeometry(x, kernel: kernel, stride: stride, padding: padding, op: "avgPool2d")
        let out = make([g.batch, g.inChannels, g.outHeight, g.outWidth])
        PoolingKernel.averageForward(out.pointer, x.value.pointer, g)
        let y = output(out, inputs: [x])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                self.accumulate(x) { PoolingKernel.averageBackward($0, dy.pointer, g) }
            }
        }
        return y
    }

    /// (N, C, H, W) → (N, C)
    public func globalAvgPool(_ x: Variable) throws -> Variable {
        guard x.shape.count == 4 else { throw TensorError.shapeMismatch(op: "globalAvgPool", expected: "(N, C, H, W)", got: x.shape) }
        let rows = x.shape[0] * x.shape[1], plane = x.shape[2] * x.shape[3]
        let out = make([x.shape[0], x.shape[1]])
        PoolingKernel.globalAverageForward(out.pointer, x.value.pointer, rows: rows, plane: plane)
        let y = output(out, inputs: [x])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                self.accumulate(x) { PoolingKernel.globalAverageBackward($0, dy.pointer, rows: rows, plane: plane) }
            }
        }
        return y
    }

    public func logSoftmax(_ x: Variable) throws -> Variable {
        guard x.shape.count == 2 else { throw TensorError.shapeMismatch(op: "logSoftmax", expected: "(N, classes)", got: x.shape) }
        let rows = x.shape[0], classes = x.shape[1]
        let out = make(x.shape)
        SoftmaxKernel.logSoftmax(out.pointer, x.value.pointer, rows: rows, classes: classes)
        let y = output(out, inputs: [x])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                self.accumulate(x) { SoftmaxKernel.logSoftmaxBackward($0, dy.pointer, out.pointer, rows: rows, classes: classes) }
            }
        }
        return y
    }

    public func softmax(_ x: Variable) throws -> Variable {
        guard x.shape.count == 2 else { throw TensorError.shapeMismatch(op: "softmax", expected: "(N, classes)", got: x.shape) }
        let rows = x.shape[0], classes = x.shape[1]
        let out = make(x.shape)
        SoftmaxKernel.softmax(out.pointer, x.value.pointer, rows: rows, classes: classes)
        let y = output(out, inputs: [x])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                self.accumulate(x) { SoftmaxKernel.softmaxBackward($0, dy.pointer, out.pointer, rows: rows, classes: classes) }
            }
        }
        return y
    }

    /// Mean cross-entropy of (N, classes) logits against class indices, with label smoothing.
    public func crossEntropy(_ logits: Variable, targets: [Int32], labelSmoothing: Float = 0) throws -> Variable {
        guard logits.shape.count == 2, logits.shape[0] == targets.count else {
            throw TensorError.shapeMismatch(op: "crossEntropy", expected: "logits (\(targets.count), classes)", got: logits.shape)
        }
        let rows = logits.shape[0], classes = logits.shape[1]
        if let bad = targets.first(where: { $0 < 0 || Int($0) >= classes }) {
            throw TensorError.invalidArgument(op: "crossEntropy", message: "target \(bad) outside 0..<\(classes)")
        }
        guard (0..<1).contains(labelSmoothing) else {
            throw TensorError.invalidArgument(op: "crossEntropy", message: "label smoothing \(labelSmoothing) outside [0, 1)")
        }
        let probabilities = make(logits.shape)
        let out = make([1])
        let loss = targets.withUnsafeBufferPointer {
            SoftmaxKernel.crossEntropy(logits: logits.value.pointer, targets: $0.baseAddress!, probabilities: probabilities.pointer,
                                       rows: rows, classes: classes, smoothing: labelSmoothing)
        }
        out[0] = loss
        let y = output(out, inputs: [logits])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                self.accumulate(logits) { d in
                    targets.withUnsafeBufferPointer {
                        SoftmaxKernel.crossEntropyBackward(d, probabilities: probabilities.pointer, targets: $0.baseAddress!,
                                                           rows: rows, classes: classes, smoothing: labelSmoothing, scale: dy[0])
                    }
                }
            }
        }
        return y
    }

    public func reshape(_ x: Variable, _ shape: [Int]) throws -> Variable {
        let out = try x.value.reshaped(shape)
        let y = output(out, inputs: [x])
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = y.grad else { return }
                self.accumulate(x) { $0.update(from: dy.pointer, count: dy.count) }
            }
        }
        return y
    }

    private func poolGeometry(_ x: Variable, kernel: Int, stride: Int, padding: Int, op: String) throws -> ConvGeometry {
        guard x.shape.count == 4 else { throw TensorError.shapeMismatch(op: op, expected: "(N, C, H, W)", got: x.shape) }
        let g = ConvGeometry(batch: x.shape[0], inChannels: x.shape[1], height: x.shape[2], width: x.shape[3],
                             outChannels: x.shape[1], kernel: (kernel, kernel), stride: (stride, stride), padding: (padding, padding))
        try g.validate(op: op)
        return g
    }
}
