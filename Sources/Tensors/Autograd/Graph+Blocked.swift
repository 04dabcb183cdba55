/// The channel-blocked layout inside a training graph (see `BlockedLayout`, `Variable`):
/// outputs held blocked, and gradients gathered in it.
extension Graph {
    /// The block a layout-aware op may write its output in for `channels` channels (0: plain).
    /// Only recording graphs hold values blocked; inference graphs and plans stay plain.
    func outputBlock(channels: Int) -> Int {
        isRecording && useBlockedLayout && useDNNL && BlockedLayout.fits(channels: channels) ? BlockedLayout.block : 0
    }

    /// `y`'s whole gradient in the blocked layout: the blocked contributions plus the plain ones
    /// reordered; nil when nothing reached `y`.
    func blockedGradient(of y: Variable) -> Tensor? {
        guard let plain = y.grad else { return y.blockedGrad }
        let converted = make(y.shape)
        BlockedLayout.toBlocked(converted.pointer, plain.pointer, shape: y.shape)
        if let b = y.blockedGrad { Self.add(b.pointer, into: converted.pointer, count: b.count) }
        return converted
    }
}

/// The layout-aware ops' blocked paths: batch norm (training), activations, residual adds, channel concatenation.
extension Graph {
    /// Training batch norm of a blocked value, optionally fused with the tail of a residual
    /// block — relu(bn(x) + residual) — in the same passes (`BlockedBatchNormKernel.Epilogue`).
    func batchNormBlocked(_ x: Variable, _ xb: Tensor, gamma: Variable, beta: Variable, runningMean: Tensor, runningVar: Tensor,
                          momentum: Float, eps: Float, residual: (variable: Variable, blocked: Tensor)?, relu: Bool) -> Variable {
        let (n, c, plane) = BlockedLayout.dims(x.shape)
        let block = BlockedLayout.block
        let out = make(x.shape)
        if residual == nil, DNNLBatchNorm.enabled,
           let primitive = DNNLBatchNorm.shared(batch: n, channels: c, plane: plane, block: block, eps: eps, relu: relu),
           let y = batchNormDNNL(primitive, x, xb, out, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                                 momentum: momentum, relu: relu) {
            return y
        }
        let mean = make([c]), invStd = make([c])
        let epilogue = BlockedBatchNormKernel.Epilogue(residual: residual.map { UnsafePointer($0.blocked.pointer) }, relu: relu)
        BlockedBatchNormKernel.forwardTraining(out.pointer, xb.pointer, gamma: gamma.value.pointer, beta: beta.value.pointer,
                                               runningMean: runningMean.pointer, runningVar: runningVar.pointer,
                                               savedMean: mean.pointer, savedInvStd: invStd.pointer, batch: n, channels: c,
                                               plane: plane, block: block, momentum: momentum, eps: eps, epilogue: epilogue)
        let label = "batchNorm" + (residual == nil ? "" : "+add") + (relu ? "+relu" : "") + " [engine, blocked]"
        let y = output(out, inputs: [x, gamma, beta] + (residual.map { [$0.variable] } ?? []), blocked: true, op: label)
        if y.requiresGrad {
            record(op: label) { [unowned self] in
                guard let dy = self.blockedGradient(of: y) else { return }
                let dgamma = self.gradient(of: gamma), dbeta = self.gradient(of: beta)
                // The residual's gradient is dz itself: written by the kernel's first pass, then handed over.
                let dz = residual.flatMap { $0.variable.requiresGrad ? self.make(y.shape) : nil }
                self.accumulate(x, always: true, blocked: true) { dx in  // always: dgamma and dbeta come from the same pass
                    BlockedBatchNormKernel.backward(dx: dx, dgamma: dgamma.pointer, dbeta: dbeta.pointer, dy: dy.pointer, x: xb.pointer,
                                                    gamma: gamma.value.pointer, savedMean: mean.pointer, savedInvStd: invStd.pointer,
                                                    batch: n, channels: c, plane: plane, block: block,
                                                    reluOutput: relu ? UnsafePointer(out.pointer) : nil, dz: dz?.pointer)
                }
                if let dz, let r = residual?.variable { self.accumulate(r, adopting: dz, blocked: true) }
            }
        }
        return y
    }

    /// The same op on oneDNN's batch norm primitive (ReLU fused in it); running statistics
    /// updated here, as the engine's kernel does. Nil when a batch statistic is not finite (an
    /// input holds NaN or ±inf): oneDNN's ReLU turns NaN into 0, so the engine's kernel redoes
    /// the op and the NaN reaches the loss, where `LossGuard` stops a diverging run.
    private func batchNormDNNL(_ primitive: DNNLBatchNorm, _ x: Variable, _ xb: Tensor, _ out: Tensor, gamma: Variable, beta: Variable,
                               runningMean: Tensor, runningVar: Tensor, momentum: Float, relu: Bool) -> Variable? {
        let c = x.shape[1]
        let mean = make([c]), variance = make([c])
        let workspace = primitive.workspaceCount > 0 ? make([primitive.workspaceCount]) : nil
        let ok = primitive.forward(out.pointer, xb.pointer, gamma: gamma.value.pointer, beta: beta.value.pointer, mean: mean.pointer,
                                   variance: variance.pointer, workspace: workspace?.pointer)
        if !ok { fatalError("oneDNN batch norm forward failed for \(x.shape): \(primitive.lastError ?? "?")") }
        guard (0..<c).allSatisfy({ mean.pointer[$0].isFinite && variance.pointer[$0].isFinite }) else { return nil }
        let m = Float(x.shape.reduce(1, *) / c)
        for k in 0..<c {
            let unbiased = m > 1 ? variance.pointer[k] * m / (m - 1) : variance.pointer[k]
            runningMean.pointer[k] = (1 - momentum) * runningMean.pointer[k] + momentum * mean.pointer[k]
            runningVar.pointer[k] = (1 - momentum) * runningVar.pointer[k] + momentum * unbiased
        }
        let label = (relu ? "batchNorm+relu" : "batchNorm") + (profile == nil ? "" : " [\(primitive.implementations.joined(separator: ", "))]")
        let y = output(out, inputs: [x, gamma, beta], blocked: true, op: label)
        if y.requiresGrad {
            record(op: label) { [unowned self] in
                guard let dy = self.blockedGradient(of: y) else { return }
                let dgamma = self.gradient(of: gamma), dbeta = self.gradient(of: beta)
                let partial = Scratch(count: 2 * c, pool: self.pool)
                defer { partial.release() }
                self.accumulate(x, always: true, blocked: true) { dx in
                    let ok = primitive.backward(dx: dx, dgamma: partial.pointer, dbeta: partial.pointer + c, dy: dy.pointer, x: xb.pointer,
                                                gamma: gamma.value.pointer, beta: beta.value.pointer, mean: mean.pointer,
                                                variance: variance.pointer,
                                                workspace: workspace.map { UnsafePointer($0.pointer) })
                    if !ok { fatalError("oneDNN batch norm backward failed for \(x.shape): \(primitive.lastError ?? "?")") }
                }
                for k in 0..<c {
                    dgamma.pointer[k] += partial.pointer[k]
                    dbeta.pointer[k] += partial.pointer[c + k]
                }
            }
        }
        return y
    }

    /// Pointwise, so the same kernels on the blocked storage — oneDNN's eltwise primitives for
    /// the activations `DNNLEltwise` handles, the engine's otherwise.
    func activationBlocked(_ x: Variable, _ xb: Tensor, _ kind: Activation) -> Variable {
        let out = make(x.shape)
        let count = out.count
        let primitive = DNNLEltwise.handles(kind) ? DNNLEltwise.shared(kind, count: count) : nil
        if let primitive {
            if !primitive.forward(out.pointer, xb.pointer) { fatalError("oneDNN \(kind) forward failed: \(primitive.lastError ?? "?")") }
        } else {
            kind.forward(out.pointer, xb.pointer, count: count)
        }
        let label = profile == nil ? #function : "activation \(kind) [\(primitive?.implementations.joined(separator: ", ") ?? "engine, blocked")]"
        let y = output(out, inputs: [x], blocked: true, op: label)
        if y.requiresGrad {
            record(op: label) { [unowned self] in
                guard let dy = self.blockedGradient(of: y) else { return }
                self.accumulate(x, blocked: true) { dx in
                    if let primitive {
                        if !primitive.backward(dx, dy.pointer, xb.pointer) { fatalError("oneDNN \(kind) backward failed: \(primitive.lastError ?? "?")") }
                    } else {
                        kind.backward(dx, dy.pointer, xb.pointer, count: count)
                    }
                }
            }
        }
        return y
    }

    /// Max pooling of a blocked value on oneDNN; the output stays blocked.
    func maxPoolBlocked(_ x: Variable, _ xb: Tensor, _ out: Tensor, _ primitive: DNNLMaxPool) -> Variable {
        let workspace = make([max(1, primitive.workspaceCount)])
        if !primitive.forward(out.pointer, xb.pointer, workspace: workspace.pointer) {
            fatalError("oneDNN max pooling forward failed for \(x.shape): \(primitive.lastError ?? "?")")
        }
        let label = profile == nil ? #function : "maxPool2d [\(primitive.implementations.joined(separator: ", "))]"
        let y = output(out, inputs: [x], blocked: true, op: label)
        if y.requiresGrad {
            record(op: label) { [unowned self] in
                guard let dy = self.blockedGradient(of: y) else { return }
                self.accumulate(x, blocked: true) { dx in
                    if !primitive.backward(dx, dy.pointer, workspace: workspace.pointer) {
                        fatalError("oneDNN max pooling backward failed for \(x.shape): \(primitive.lastError ?? "?")")
                    }
                }
            }
        }
        return y
    }

    func addBlocked(_ a: Variable, _ pa: Tensor, _ b: Variable, _ pb: Tensor) -> Variable {
        let out = make(a.shape)
        let n = out.count
        let x = pa.pointer, z = pb.pointer, o = out.pointer
        Parallel.forEachChunk(n, minimumPerChunk: Parallel.elementsPerChunk) { _, r in for i in r { o[i] = x[i] + z[i] } }
        let y = output(out, inputs: [a, b], blocked: true)
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = self.blockedGradient(of: y) else { return }
                for v in [a, b] { self.accumulate(v, blocked: true) { $0.update(from: dy.pointer, count: n) } }
            }
        }
        return y
    }

    /// Channel concatenation of blocked values: in nChw{B}c an image's channel blocks are one
    /// contiguous run, so it is a concatenation of each image's runs.
    func concatBlocked(_ parts: [Variable]) -> Variable {
        let plane = parts[0].shape[2] * parts[0].shape[3], batch = parts[0].shape[0]
        let sizes = parts.map { $0.shape[1] * plane }
        var shape = parts[0].shape
        shape[1] = parts.reduce(0) { $0 + $1.shape[1] }
        let out = make(shape)
        ShapeKernel.concatForward(out.pointer, parts.map { UnsafePointer($0.blocked!.pointer) }, sizes: sizes, outer: batch, inner: 1)
        let y = output(out, inputs: parts, blocked: true)
        if y.requiresGrad {
            record { [unowned self] in
                guard let dy = self.blockedGradient(of: y) else { return }
                for (k, p) in parts.enumerated() {
                    self.accumulate(p, blocked: true) { ShapeKernel.concatBackward($0, dy.pointer, index: k, sizes: sizes, outer: batch, inner: 1) }
                }
            }
        }
        return y
    }
}
