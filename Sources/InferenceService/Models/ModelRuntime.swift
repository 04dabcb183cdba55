import Foundation
import Tensors
import VisionModels

/// A loaded package ready to run batches: the fused inference plan (oneDNN) when the model has
/// one, else its eval-mode graph. Outputs per image: classification probabilities (classes),
/// detection raw predictions (anchors × (5 + classes), decoded by the caller), retrieval unit
/// embeddings (dimension). Not thread-safe: only its batcher's thread runs it.
final class ModelRuntime: @unchecked Sendable {
    enum Task: String, Sendable { case classification, detection, retrieval }

    let task: Task
    let manifest: ModelManifest
    /// (C, H, W) of one input image.
    let inputShape: [Int]
    /// Floats of output per image.
    let outputWidth: Int
    /// Anchors of a detector's raw output (0 otherwise).
    let anchors: Int
    /// The batch sizes that keep a compiled network; a batch runs padded to the next one (every
    /// size up to the oneDNN chunk when their activations fit `networkBudgetBytes`, else a
    /// sparser ladder — so a large model does not hold a network for each of 16 sizes).
    private(set) var ladder: [Int] = [1]
    /// How a batch is cut into ladder-sized runs: padded up to the next size until warm-up has
    /// timed each size, then the cheapest pieces.
    var pieces = BatchPieces(ladder: [1])
    static let networkBudgetBytes = (ProcessInfo.processInfo.environment["VF_SERVE_NETWORK_BUDGET_MIB"].flatMap(Int.init) ?? 128) << 20
    private let model: PackagedModel
    private let plan: InferencePlan?
    /// The same plan on `wideThreads`, for a batch that has the cores to itself (`wide` runs).
    private let widePlan: InferencePlan?

    /// `threads`: the cores one run uses (a model with several instances splits them);
    /// `wideThreads`, when more: a second plan on that many, for runs while the other instances idle.
    init(_ package: LoadedPackage, threads: Int = Parallel.threads, wideThreads: Int = 0) throws {
        manifest = package.manifest
        model = package.model
        let p = manifest.preprocessing
        inputShape = [p.channels, p.height, p.width]
        switch package.model {
        case .classification:
            task = .classification
            outputWidth = manifest.architecture.classes
            anchors = 0
        case .detection(let detector):
            task = .detection
            anchors = YOLOXDecoder.grid(height: p.height, width: p.width, strides: detector.strides).count
            outputWidth = anchors * (5 + manifest.classNames.count)
        case .retrieval:
            task = .retrieval
            outputWidth = manifest.retrieval?.projectionDim ?? 0
            anchors = 0
        }
        plan = try Self.makePlan(package.model, height: p.height, width: p.width)
        widePlan = wideThreads > threads ? try Self.makePlan(package.model, height: p.height, width: p.width) : nil
        let chunk = InferencePlan.oneDNNChunk
        if let plan {
            let perImage = plan.activationFloatsPerSample * 4
            let candidates: [[Int]] = [Array(1...chunk), [1, 2, 3, 4, 6, 8, 12, 16], [1, 2, 4, 8, 16], [1, 4, 16], [1]]
                .map { $0.filter { $0 <= chunk } }
            ladder = candidates.first { $0.reduce(0, +) * perImage <= Self.networkBudgetBytes } ?? [1]
            if ladder.last != chunk && ladder != [1] { ladder.append(chunk) }
            plan.maxNetworks = ladder.count + 1
            plan.threads = max(1, threads)
            widePlan?.maxNetworks = ladder.count + 1
            widePlan?.threads = wideThreads
        } else {
            ladder = Array(1...chunk)
        }
        pieces = BatchPieces(ladder: ladder)
    }

    /// The fused inference plan of a model, nil when it has none (it then runs its graph).
    private static func makePlan(_ model: PackagedModel, height: Int, width: Int) throws -> InferencePlan? {
        switch model {
        case .classification(let network, let pooling, _):
            pooling == "avg" ? try network.inferencePlan(height: height, width: width) : nil
        case .detection(let detector):
            try detector.inferencePlan(height: height, width: width)
        case .retrieval(let embedder):
            try embedder.inferencePlan(height: height, width: width)
        }
    }

    /// Whether a compiled network for every batch size up to oneDNN's chunk fits the budget
    /// (a small model, as ResNet-20 at 32×32).
    var keepsEveryBatchSize: Bool { ladder == Array(1...InferencePlan.oneDNNChunk) }

    /// Whether it keeps a wide plan.
    var hasWidePlan: Bool { widePlan != nil }

    /// Which engine runs it, for logs and ModelConfig.
    var backendName: String {
        guard let plan else { return "visionfleet-graph" }
        return plan.backend == .oneDNN && plan.oneDNNFailure == nil ? "visionfleet-onednn" : "visionfleet-engine"
    }

    /// The rows a batch of n fills: n itself past the chunk (it runs as chunks), else its
    /// pieces' sizes, the last one padded.
    func paddedSize(_ n: Int) -> Int { pieces.rows(n) }

    /// Runs (N, C, H, W) and writes N × `outputWidth` floats into `output`; `input` may hold
    /// more rows than N (padding), whose outputs are dropped. A batch cut into pieces runs
    /// each piece on its own network. `wide`: on the wide plan, when there is one.
    func execute(_ input: Tensor, count n: Int, wide: Bool = false, into output: UnsafeMutablePointer<Float>) throws {
        let parts = pieces.pieces(n)
        if parts.count == 1 {
            try run(input, rows: n, wide: wide, into: output)
        } else {
            let width = inputShape.reduce(1, *)
            var done = 0
            for size in parts {
                let real = min(size, n - done)
                let piece = Tensor(uninitialized: [size] + inputShape)
                piece.pointer.update(from: input.pointer + done * width, count: real * width)
                if real < size { (piece.pointer + real * width).update(repeating: 0, count: (size - real) * width) }
                try run(piece, rows: real, wide: wide, into: output + done * outputWidth)
                done += real
            }
        }
        switch task {
        case .classification:
            for i in 0..<n { Self.softmax(output + i * outputWidth, outputWidth) }
        case .retrieval:
            for i in 0..<n { Self.normalize(output + i * outputWidth, outputWidth) }
        case .detection:
            break
        }
    }

    /// One network run over all of `input`'s rows; the first `rows` outputs copied out.
    private func run(_ input: Tensor, rows: Int, wide: Bool = false, into output: UnsafeMutablePointer<Float>) throws {
        let chosen = wide ? widePlan ?? plan : plan
        let raw = try chosen?.run(input) ?? model.forward(input)
        precondition(raw.count == input.shape[0] * outputWidth, "model output \(raw.shape) is not \(input.shape[0]) × \(outputWidth)")
        output.update(from: raw.pointer, count: rows * outputWidth)
    }

    /// The batch sizes a server's batches can reach the plan with, up to `maxBatch` (larger
    /// batches run as chunks of the chunk size and a remainder).
    func warmSizes(maxBatch: Int) -> [Int] {
        let top = paddedSize(min(maxBatch, InferencePlan.oneDNNChunk))
        return ladder.filter { $0 <= top }
    }

    /// Runs a zero batch of each size, so kernels are built before the first request, then
    /// times each (best of `timedRuns`) so batches are cut into the cheapest pieces.
    func warmUp(batchSizes: [Int], timedRuns: Int = 3) throws {
        var seconds: [Int: Double] = [:]
        let clock = ContinuousClock()
        for n in Set(batchSizes).sorted() where n > 0 {
            let input = Tensor(zeros: [n] + inputShape)
            let out = UnsafeMutablePointer<Float>.allocate(capacity: n * outputWidth)
            defer { out.deallocate() }
            try run(input, rows: n, into: out)
            if widePlan != nil { try run(input, rows: n, wide: true, into: out) }
            for _ in 0..<timedRuns {
                let started = clock.now
                try run(input, rows: n, into: out)
                let d = clock.now - started
                let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
                seconds[n] = min(seconds[n] ?? .infinity, s)
            }
        }
        if ladder.allSatisfy({ seconds[$0] != nil }) { pieces = BatchPieces(ladder: ladder, seconds: seconds) }
    }

    static func softmax(_ row: UnsafeMutablePointer<Float>, _ n: Int) {
        var peak = -Float.infinity
        for i in 0..<n { peak = max(peak, row[i]) }
        var sum: Float = 0
        for i in 0..<n { row[i] = expf(row[i] - peak); sum += row[i] }
        let inverse = 1 / sum
        for i in 0..<n { row[i] *= inverse }
    }

    static func normalize(_ row: UnsafeMutablePointer<Float>, _ n: Int) {
        var sum: Float = 0
        for i in 0..<n { sum += row[i] * row[i] }
        let inverse = 1 / max(sum.squareRoot(), 1e-12)
        for i in 0..<n { row[i] *= inverse }
    }
}
