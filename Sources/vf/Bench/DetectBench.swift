import ArgumentParser
import FleetProtos
import FleetRPC
import Foundation
import ServiceRuntime
import Tensors
import TrainingService
import VisionData
import VisionModels

/// `vf bench detect`: YOLOX-tiny at 128×128 (the shipped shapes config, seeded weights) served
/// by a real vf-serve, called through the task API's Detect with encoded 128×128 shapes images
/// at 1 and 8 in flight (requests/s, p50/p99 ms), and the fused plan's batch-1 forward latency
/// in the same run. `--peer` runs `../shared/peers/run yolox` first and adds ONNX Runtime's
/// batch-1 latency on the same architecture: then ONNX Runtime (on the model the peer exported)
/// and the plan are timed again in short blocks taken in turns, and the ratio is of their medians.
struct DetectBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "detect", abstract: "Detection serving latency and throughput (vs ONNX Runtime with --peer).")

    @Option(help: "Seconds of load per concurrency.") var seconds = 5.0
    @Option(help: "Clients in flight, comma-separated.") var concurrency = "1,8"
    @Flag(help: "Also run the YOLOX peer (PyTorch / ONNX Runtime) and report ratios.") var peer = false
    @Option(help: "Folder of the peer programs.") var peers = "../shared/peers"
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        func log(_ text: String) { if !json { FileHandle.standardError.write(Data((text + "\n").utf8)) } }
        let levels = concurrency.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !levels.isEmpty, levels.allSatisfy({ $0 > 0 }) else { throw ValidationError("--concurrency: positive counts, e.g. 1,8") }
        var object: [String: Any] = [:]
        let started = Date()
        if peer { for (k, v) in try PeerProgram.run(peers, ["yolox"]) { object["peer_\(k)"] = v } }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("vf-bench-detect-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }

        guard let configPath = ConfigCatalog.standard().folders.map({ $0.appendingPathComponent("detection/yolox_tiny_shapes.yaml") })
            .first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw ValidationError("configs/detection/yolox_tiny_shapes.yaml not found (set VISIONFLEET_CONFIGS)")
        }
        let config = try ExperimentConfig.load(path: configPath.path)
        let classNames = ShapesGenerator.classNames
        let trainer = try DetectionTrainer(config: config, classNames: classNames)
        let package = work.appendingPathComponent("package")
        try ModelPackage.write(.detection(trainer.model), manifest: PackageManifests.make(config, classNames: classNames, metrics: [:],
                                                                                            lineage: .init(dataset: "bench@1")), to: package)
        let registry = try BenchServer(executable: "vf-registry", home: work.appendingPathComponent("registry"))
        defer { registry.stop() }
        _ = try await RegistryClient(address: "127.0.0.1:\(registry.port)", environment: [:])
            .upload(directory: package, model: "shapes", aliases: ["production"])
        let serve = try BenchServer(executable: "vf-serve", home: work.appendingPathComponent("serve"),
                                    arguments: ["--models", "shapes@production", "--registry", "127.0.0.1:\(registry.port)", "--no-metrics", "--no-http"])
        defer { serve.stop() }
        let client = RPCClient(channel: try RPCChannel(target: "127.0.0.1:\(serve.port)"))
        let readyBy = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < readyBy {
            let ready: Inference_ModelReadyResponse? = try? await client.unary(ServiceCatalog.GRPCInferenceService.modelReady.path,
                                                                               Inference_ModelReadyRequest.with { $0.name = "shapes" })
            if ready?.ready == true { break }
            try await Task.sleep(for: .milliseconds(100))
        }

        let generator = ShapesGenerator(size: config.height)
        let images = try (0..<16).map { try ImageCodec.encodePNG(generator.sample(seed: 7, index: $0).image) }
        let requests = images.map { png in Visionfleet_V1_DetectRequest.with { $0.model.name = "shapes"; $0.image.encoded = png } }
        for level in levels {
            _ = try await Self.load(client, requests, clients: level, seconds: min(1, seconds))
            let (result, _) = try await serve.samplingPeak { try await Self.load(client, requests, clients: level, seconds: seconds) }
            object["\(level)"] = ["rps": result.rps.rounded(toPlaces: 1), "p50_ms": result.p50.rounded(toPlaces: 3),
                                  "p99_ms": result.p99.rounded(toPlaces: 3), "errors": result.errors]
            log(String(format: "Detect, %d in flight: %.1f requests/s, p50 %.3f ms, p99 %.3f ms, errors %d", level, result.rps, result.p50, result.p99, result.errors))
        }
        serve.stop()  // the plan timed alone
        let plan = try trainer.model.inferencePlan(height: config.height, width: config.width)
        var rng = RandomState(seed: 3)
        let one = Tensor(uniform: [1, 3, config.height, config.width], low: 0, high: 255, rng: &rng)  // as the peer feeds it
        func planB1() throws -> Double { try PlanTiming.medianMilliseconds(plan, one, warmups: 10, runs: 200) }
        if peer, let ort = ORTLatency(since: started) {
            defer { ort.close() }
            // Blocks of ONNX Runtime and of the plan in turns: both see the same minute of this
            // host. Each block starts once the other side's worker threads have stopped spinning
            // (ONNX Runtime's spin for about 60 ms after a run and would take a core from ours).
            var ours: [Double] = [], theirs: [Double] = []
            for _ in 0..<10 { _ = try plan.run(one) }
            for _ in 0..<Self.turns {
                theirs += try ort.block(Self.blockRuns)
                usleep(150_000)
                ours += try PlanTiming.milliseconds(plan, one, runs: Self.blockRuns)
                usleep(150_000)
            }
            let (b1, ortB1) = (Self.median(ours), Self.median(theirs))
            object["plan_b1_ms"] = b1.rounded(toPlaces: 3)
            object["peer_ort_b1_ms_in_turns"] = ortB1.rounded(toPlaces: 3)
            object["ratio_plan_b1_vs_ort"] = (b1 / ortB1).rounded(toPlaces: 2)
            log(String(format: "fused plan, batch 1: %.3f ms; ONNX Runtime in the same turns %.3f ms (medians of %d runs each, in %d turns): %.2f×",
                       b1, ortB1, ours.count, Self.turns, b1 / ortB1))
        } else {
            let b1 = try planB1()
            object["plan_b1_ms"] = b1.rounded(toPlaces: 3)
            log(String(format: "fused plan, batch 1: %.3f ms", b1))
            if let ort = object["peer_ort_b1_ms"] as? Double, ort > 0 { object["ratio_plan_b1_vs_ort"] = (b1 / ort).rounded(toPlaces: 2) }
        }
        if json {
            try JSONLine.print(object)
        } else {
            for key in object.keys.sorted() { print("\(key)\t\(object[key]!)") }
        }
    }

    /// With `--peer`: turns of a block of ONNX Runtime's batch-1 runs then a block of the plan's.
    static let turns = 40
    static let blockRuns = 10

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.isEmpty ? 0 : sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func load(_ client: RPCClient, _ requests: [Visionfleet_V1_DetectRequest], clients: Int, seconds: Double) async throws -> ServeBench.LoadResult {
        let clock = ContinuousClock()
        let stop = clock.now + .milliseconds(Int(seconds * 1000))
        let start = clock.now
        let results = try await withThrowingTaskGroup(of: ([Double], Int).self) { group in
            for c in 0..<clients {
                group.addTask {
                    var latencies: [Double] = [], errors = 0, i = c
                    while clock.now < stop {
                        let t = clock.now
                        do {
                            let _: Visionfleet_V1_DetectResponse = try await client.unary(ServiceCatalog.VisionService.detect.path, requests[i % requests.count])
                            latencies.append(ServeBench.seconds(clock.now - t) * 1000)
                        } catch { errors += 1 }
                        i += clients
                    }
                    return (latencies, errors)
                }
            }
            var all: [([Double], Int)] = []
            for try await r in group { all.append(r) }
            return all
        }
        let latencies = results.flatMap(\.0).sorted()
        func q(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(p * Double(latencies.count)))] }
        return .init(rps: Double(latencies.count) / ServeBench.seconds(clock.now - start), p50: q(0.5), p99: q(0.99), errors: results.reduce(0) { $0 + $1.1 })
    }
}
