import ArgumentParser
import Foundation
import Tensors
import VisionModels

/// `vf bench engine`: CIFAR ResNet-20 on the Tensors engine — training images/s at batch 128
/// with SGD momentum, fused inference latency at batch 1 and throughput at batch 128.
struct EngineBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "engine", abstract: "Tensor engine speed on ResNet-20.")

    @Option(help: "Threads (default: VISIONFLEET_THREADS or the core count).")
    var threads: Int?

    @Option(help: "Timed training steps at batch 128.")
    var trainSteps = 8

    @Option(help: "Timed batch-1 inferences.")
    var inferB1 = 300

    @Option(help: "Timed batch-128 inferences.")
    var inferB128 = 8

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: "Print where the time goes (forward / backward / optimizer per step).")
    var profile = false

    @Option(help: "Inference backend: onednn (oneDNN primitives) or engine (the engine's own kernels).")
    var backend = "onednn"

    @Option(name: .customLong("model"), help: "Model: resnet20 (CIFAR, 32×32, batch 128) or yolox-tiny (128×128, batch 16, full YOLOX loss).")
    var modelName = "resnet20"

    func run() throws {
        BLASCore.reexecIfMisdetected()
        if let threads { Parallel.setThreads(threads) }
        let clock = ContinuousClock()
        guard let chosen = InferencePlan.Backend(rawValue: backend == "onednn" ? "oneDNN" : backend) else {
            throw ValidationError("--backend \(backend): expected onednn or engine")
        }
        if modelName == "yolox-tiny" { return try YOLOXEngineBench(backend: chosen, trainSteps: trainSteps, json: json, profile: profile).run() }
        guard modelName == "resnet20" else { throw ValidationError("--model \(modelName): expected resnet20 or yolox-tiny") }

        let model = try CIFARResNet(depth: 20, inputChannels: 3, classes: 10, seed: 1)
        var rng = RandomState(seed: 7)
        let batch = 128
        let x = Variable(Tensor(normal: [batch, 3, 32, 32], std: 1, rng: &rng))
        let labels = (0..<batch).map { _ in Int32(rng.nextInt(10)) }
        let optimizer = SGD(parameters: model.parameters, learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4)
        let graph = Graph()

        var forward = Duration.zero, backward = Duration.zero, update = Duration.zero
        func step() throws {
            let t0 = clock.now
            let loss = try graph.crossEntropy(try model(x, graph), targets: labels)
            let t1 = clock.now
            optimizer.zeroGrad()
            graph.backward(loss)
            let t2 = clock.now
            optimizer.step()
            graph.reset()
            let t3 = clock.now
            forward += t1 - t0; backward += t2 - t1; update += t3 - t2
        }
        for _ in 0..<2 { try step() }
        forward = .zero; backward = .zero; update = .zero
        let trainStart = clock.now
        for _ in 0..<trainSteps { try step() }
        let trainSeconds = (clock.now - trainStart).seconds
        let trainImagesPerSecond = Double(trainSteps * batch) / trainSeconds

        let plan = try model.inferencePlan()
        plan.backend = chosen
        let one = Tensor(normal: [1, 3, 32, 32], std: 1, rng: &rng)
        let b1Milliseconds = try PlanTiming.medianMilliseconds(plan, one, warmups: 30, runs: inferB1)
        let b128ImagesPerSecond = try PlanTiming.imagesPerSecond(plan, x.value, warmups: 2, runs: inferB128)

        let forwardFlops = 2 * Double(plan.macsPerSample)
        let trainGflops = 3 * forwardFlops * trainImagesPerSecond / 1e9
        let inferGflops = forwardFlops * b128ImagesPerSecond / 1e9

        if json {
            let object: [String: Double] = [
                "train_images_per_s": (trainImagesPerSecond * 10).rounded() / 10,
                "infer_b1_ms": (b1Milliseconds * 1000).rounded() / 1000,
                "infer_b128_images_per_s": (b128ImagesPerSecond * 10).rounded() / 10,
                "train_gflops": (trainGflops * 10).rounded() / 10,
                "infer_gflops": (inferGflops * 10).rounded() / 10,
                "threads": Double(Parallel.threads),
                "onednn": plan.backend == .oneDNN && plan.oneDNNFailure == nil ? 1 : 0,
                "onednn_reorders_b128": Double(plan.backend == .oneDNN ? plan.oneDNNReorders(batch: batch) ?? -1 : -1),
            ]
            try JSONLine.print(object)
        } else {
            print("ResNet-20 (CIFAR, 3×32×32), \(Parallel.threads) threads, OpenBLAS core \(BLASCore.current), "
                  + String(format: "%.1f MFLOP/image forward", forwardFlops / 1e6))
            print(String(format: "train   batch 128: %8.1f images/s  (%.1f GFLOP/s)", trainImagesPerSecond, trainGflops))
            print(String(format: "infer   batch 1:   %8.3f ms (median of %d)", b1Milliseconds, inferB1))
            print(String(format: "infer   batch 128: %8.1f images/s  (%.1f GFLOP/s)", b128ImagesPerSecond, inferGflops))
            print("inference backend: \(plan.backend.rawValue)" + (plan.oneDNNFailure.map { " — unavailable, ran on the engine: \($0)" } ?? "")
                  + (plan.backend == .oneDNN ? ", \(plan.oneDNNReorders(batch: batch) ?? 0) reorders at batch 128" : ""))
        }
        if let failure = plan.oneDNNFailure { FileHandle.standardError.write(Data("oneDNN unavailable: \(failure)\n".utf8)) }
        if profile {
            plan.profiling = true
            var perStep: [String: (Double, Int)] = [:]
            var order: [String] = []
            for _ in 0..<50 {
                _ = try plan.run(one)
                for (label, s) in plan.lastProfile {
                    if perStep[label] == nil { order.append(label) }
                    perStep[label, default: (0, 0)].0 += s
                    perStep[label, default: (0, 0)].1 += 1
                }
            }
            print("profile: batch-1 inference, mean per op kind (50 runs)")
            for label in order {
                let (s, n) = perStep[label]!
                print("  " + label.padding(toLength: 56, withPad: " ", startingAt: 0) + String(format: "%8.1f µs × %d", s / Double(n) * 1e6 * Double(n) / 50, n / 50))
            }
            try TrainingProfileTable.run(graph, steps: 4) { try step() }
            let total = (forward + backward + update).seconds
            for (name, d) in [("forward", forward), ("backward", backward), ("optimizer+reset", update)] {
                let label = name.padding(toLength: 16, withPad: " ", startingAt: 0)
                print("profile \(label)" + String(format: "%8.1f ms/step  %5.1f%%", d.seconds * 1000 / Double(trainSteps),
                                                   100 * d.seconds / total))
            }
        }
    }
}
