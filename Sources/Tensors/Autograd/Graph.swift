/// The autograd tape. Ops called on a recording graph append their backward closure;
/// `backward` runs them in exact reverse order, accumulating gradients. A graph that is not
/// recording (`noGrad`) runs ops without saving anything. Intermediate buffers come from a
/// pool and go back to it on `reset()`, so steady-state steps do not allocate.
public final class Graph: @unchecked Sendable {
    public var isRecording: Bool
    /// Training mode for layers that behave differently (batch norm, dropout).
    public var isTraining: Bool
    public let pool: BufferPool
    /// Convolutions on oneDNN's primitives (`DNNLConvolution`) when it is on; false runs the
    /// engine's own kernels (the reference).
    public var useDNNL = DNNLConvolution.enabled
    /// With oneDNN, convolution outputs stay in its channel-blocked layout through batch norm,
    /// activations and adds (`BlockedLayout`); false keeps every value plain.
    public var useBlockedLayout = true
    /// Max pooling of blocked values on oneDNN (`DNNLMaxPool.enabled`: on unless `VISIONFLEET_DNNL_POOL=0`).
    public var useDNNLPooling = DNNLMaxPool.enabled
    /// Per-op times of forward and backward when set (`vf bench engine --profile`).
    public var profile: TrainingProfile?
    private var steps: [() -> Void] = []
    private var temporaries: [TensorStorage] = []
    private var intermediates: [Variable] = []

    public init(recording: Bool = true, training: Bool = true, pool: BufferPool = BufferPool()) {
        isRecording = recording
        isTraining = training
        self.pool = pool
    }

    /// A graph for inference: nothing recorded, eval-mode layers.
    public static func inference(pool: BufferPool = BufferPool()) -> Graph { Graph(recording: false, training: false, pool: pool) }

    /// A pooled tensor that lives until `reset()`.
    public func make(_ shape: [Int]) -> Tensor {
        let t = Tensor(uninitialized: shape, pool: pool)
        temporaries.append(t.storage)
        return t
    }

    public func makeZeros(_ shape: [Int]) -> Tensor {
        let t = make(shape)
        t.fill(0)
        return t
    }

    /// Wraps an op result; it requires grad when recording and any input does. `blocked`: the
    /// result is in `BlockedLayout`.
    func output(_ value: Tensor, inputs: [Variable], blocked: Bool = false, op: String = #function) -> Variable {
        profile?.forwardOp(op)
        let requiresGrad = isRecording && inputs.contains { $0.requiresGrad }
        let v = blocked ? Variable(blocked: value, requiresGrad: requiresGrad, graph: self)
            : Variable(intermediate: value, requiresGrad: requiresGrad)
        intermediates.append(v)
        return v
    }

    func record(op: String = #function, _ step: @escaping () -> Void) {
        guard isRecording else { return }
        steps.append(profile.map { $0.timed(op, step) } ?? step)
    }

    /// The gradient buffer of `v`, created (zeroed) on first use.
    func gradient(of v: Variable) -> Tensor {
        if let g = v.grad { return g }
        let g = v.isLeaf ? Tensor(zeros: v.shape) : makeZeros(v.shape)
        v.grad = g
        return g
    }

    /// Adds a gradient produced by `write` (which overwrites its argument) into `v`'s — its
    /// plain `grad`, or with `blocked` its `blockedGrad` (in `BlockedLayout`).
    /// With `always`, `write` runs even when `v` needs no gradient (into a throwaway buffer):
    /// for kernels that produce parameter gradients in the same pass.
    func accumulate(_ v: Variable, always: Bool = false, blocked: Bool = false, _ write: (UnsafeMutablePointer<Float>) -> Void) {
        let count = v.shape.reduce(1, *)
        guard v.requiresGrad else {
            if always {
                let sink = Scratch(count: count, pool: pool)
                write(sink.pointer)
                sink.release()
            }
            return
        }
        let slot: ReferenceWritableKeyPath<Variable, Tensor?> = blocked ? \.blockedGrad : \.grad
        guard let g = v[keyPath: slot] else {
            let fresh = v.isLeaf ? Tensor(uninitialized: v.shape) : make(v.shape)
            write(fresh.pointer)
            v[keyPath: slot] = fresh
            return
        }
        let tmp = Scratch(count: count, pool: pool)
        write(tmp.pointer)
        Self.add(tmp.pointer, into: g.pointer, count: count)
        tmp.release()
    }

    /// Adds a finished gradient `g` (a graph temporary no one writes again) into `v`'s: taken
    /// as `v`'s own when it has none yet (no copy), added otherwise.
    func accumulate(_ v: Variable, adopting g: Tensor, blocked: Bool = false) {
        guard v.requiresGrad else { return }
        let slot: ReferenceWritableKeyPath<Variable, Tensor?> = blocked ? \.blockedGrad : \.grad
        if let existing = v[keyPath: slot] {
            Self.add(g.pointer, into: existing.pointer, count: existing.count)
        } else if v.isLeaf {
            accumulate(v, blocked: blocked) { $0.update(from: g.pointer, count: g.count) }
        } else {
            v[keyPath: slot] = g
        }
    }

    /// p[i] += q[i] on all threads.
    static func add(_ q: UnsafePointer<Float>, into p: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEachChunk(count, minimumPerChunk: Parallel.elementsPerChunk) { _, r in for i in r { p[i] += q[i] } }
    }

    /// Runs the recorded steps in reverse, seeding d(loss)/d(loss) = `seed`.
    public func backward(_ loss: Variable, seed: Float = 1) {
        let g = gradient(of: loss)
        g.fill(seed)
        runRecordedSteps()
    }

    /// Runs the recorded steps in reverse with the gradients already seeded.
    func runRecordedSteps() {
        for step in steps.reversed() { step() }
    }

    /// Forgets the tape and returns intermediate buffers to the pool.
    public func reset() {
        steps.removeAll(keepingCapacity: true)
        for v in intermediates { v.grad = nil; v.blockedGrad = nil }
        intermediates.removeAll(keepingCapacity: true)
        for s in temporaries { pool.recycle(s) }
        temporaries.removeAll(keepingCapacity: true)
    }
}
