import Foundation
import Tensors
import VisionModels

/// `vf bench engine --model yolox-tiny`: YOLOX-tiny at 128×128, 6 classes, as the peer
/// (`../shared/peers/run yolox`) measures it — training images/s at batch 16 with the full
/// YOLOX loss (SimOTA, IoU, objectness, classes) on random boxes, SGD as the peer's, and the
/// fused plan's raw forward (no decode or NMS) at batch 1 (median ms) and batch 16 (images/s).
struct YOLOXEngineBench {
    let backend: InferencePlan.Backend
    let trainSteps: Int
    let json: Bool
    let profile: Bool

    func run() throws {
        let clock = ContinuousClock()
        let size = 128, batch = 16, classes = 6
        let model = YOLOXModel(size: .tiny, classes: classes, seed: 1)
        var rng = RandomState(seed: 3)
        let x = Variable(Tensor(uniform: [batch, 3, size, size], low: 0, high: 255, rng: &rng))
        let truths: [[SimOTAAssigner.Truth]] = (0..<batch).map { _ in
            (0..<(1 + rng.nextInt(8))).map { _ in
                let w = 8 + rng.nextFloat() * 88, h = 8 + rng.nextFloat() * 88
                let cx = w / 2 + rng.nextFloat() * (Float(size) - w), cy = h / 2 + rng.nextFloat() * (Float(size) - h)
                return SimOTAAssigner.Truth(x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2, classIndex: rng.nextInt(classes))
            }
        }
        var loss = YOLOXLoss(classes: classes)
        loss.strides = model.strides
        let optimizer = SGD(parameters: model.parameters, learningRate: 0.01 / 64 * Float(batch), momentum: 0.9, weightDecay: 5e-4,
                            nesterov: true)
        let graph = Graph()
        func step() throws {
            let out = try loss(try model(x, graph), truths: truths, height: size, width: size, graph: graph)
            optimizer.zeroGrad()
            graph.backward(out.loss)
            optimizer.step()
            graph.reset()
        }
        for _ in 0..<3 { try step() }
        let trainStart = clock.now
        for _ in 0..<trainSteps { try step() }
        let trainRate = Double(trainSteps * batch) / (clock.now - trainStart).seconds

        let plan = try model.inferencePlan(height: size, width: size)
        plan.backend = backend
        let one = Tensor(uniform: [1, 3, size, size], low: 0, high: 255, rng: &rng)
        let b1 = try PlanTiming.medianMilliseconds(plan, one, warmups: 10, runs: 200)
        let b16 = try PlanTiming.imagesPerSecond(plan, x.value, warmups: 3, runs: 10)
        if let failure = plan.oneDNNFailure { FileHandle.standardError.write(Data("oneDNN unavailable: \(failure)\n".utf8)) }
        if json {
            try JSONLine.print([
                "train_images_per_s": (trainRate * 10).rounded() / 10, "infer_b1_ms": (b1 * 1000).rounded() / 1000,
                "infer_b16_images_per_s": (b16 * 10).rounded() / 10, "threads": Double(Parallel.threads),
                "onednn": plan.backend == .oneDNN && plan.oneDNNFailure == nil ? 1 : 0,
            ])
        } else {
            print("YOLOX-tiny, 3×\(size)×\(size), \(classes) classes, \(Parallel.threads) threads, inference on \(plan.backend.rawValue)")
            print(String(format: "train   batch 16: %8.1f images/s (full YOLOX loss)", trainRate))
            print(String(format: "infer   batch 1:  %8.3f ms (median of 200, raw outputs)", b1))
            print(String(format: "infer   batch 16: %8.1f images/s", b16))
        }
        if profile {
            plan.profiling = true
            _ = try plan.run(one)
            print("profile: batch-1 inference, one run")
            for (label, s) in plan.lastProfile { print("  " + label.padding(toLength: 56, withPad: " ", startingAt: 0) + String(format: "%8.1f µs", s * 1e6)) }
            try TrainingProfileTable.run(graph, steps: 3) { try step() }
        }
    }
}
