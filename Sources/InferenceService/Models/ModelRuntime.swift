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
    private let model: PackagedModel
    private let plan: InferencePlan?

    /// `threads`: the cores one run uses (a model with several instances splits them).
    init(_ package: LoadedPackage, threads: Int = Parallel.threads) throws {
        manifest = package.manifest
        model = package.model
        let p = manifest.preprocessing
        inputShape = [p.channels, p.height, p.width]
        switch package.model {
        case .classification(let network, let pooling, _):
            task = .classification
            plan = pooling == "avg" ? try network.inferencePlan(height: p.height, width: p.width) : nil
            outputWidth = manifest.architecture.classes
            anchors = 0
        case .detection(let detector):
            task = .detection
            plan = try detector.inferencePlan(height: p.height, width: p.width)
            anchors = YOLOXDecoder.grid(height: p.height, width: p.width, strides: detector.strides).count
            outputWidth = anchors * (5 + manifest.classNames.count)
        case .retrieval(let embedder):
            task = .retrieval
            plan = try embedder.inferencePlan(height: p.height, width: p.width)
            outputWidth = manifest.retrieval?.projectionDim ?? 0
            anchors = 0
        }
        // Batches of every size up to the oneDNN chunk keep their compiled network.
        plan?.maxNetworks = InferencePlan.oneDNNChunk + 1
        plan?.threads = max(1, threads)
    }

    /// Which engine runs it, for logs and ModelConfig.
    var backendName: String {
        guard let plan else { return "visionfleet-graph" }
        return plan.backend == .oneDNN && plan.oneDNNFailure == nil ? "visionfleet-onednn" : "visionfleet-engine"
    }

    /// Runs (N, C, H, W) and writes N × `outputWidth` floats into `output`.
    func execute(_ input: Tensor, into output: UnsafeMutablePointer<Float>) throws {
        let n = input.shape[0]
        let raw = try plan?.run(input) ?? model.forward(input)
        precondition(raw.count == n * outputWidth, "model output \(raw.shape) is not \(n) × \(outputWidth)")
        output.update(from: raw.pointer, count: raw.count)
        switch task {
        case .classification:
            for i in 0..<n { Self.softmax(output + i * outputWidth, outputWidth) }
        case .retrieval:
            for i in 0..<n { Self.normalize(output + i * outputWidth, outputWidth) }
        case .detection:
            break
        }
    }

    /// The batch sizes a server's batches can reach the plan with, up to `maxBatch` (larger
    /// batches run as chunks of these).
    static func warmSizes(maxBatch: Int) -> [Int] { Array(1...max(1, min(maxBatch, InferencePlan.oneDNNChunk))) }

    /// Runs a zero batch of each size, so kernels are built before the first request.
    func warmUp(batchSizes: [Int]) throws {
        for n in Set(batchSizes).sorted() where n > 0 {
            let input = Tensor(zeros: [n] + inputShape)
            let out = UnsafeMutablePointer<Float>.allocate(capacity: n * outputWidth)
            defer { out.deallocate() }
            try execute(input, into: out)
        }
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
