import ArgumentParser
import FleetProtos
import FleetRPC
import Foundation
import ServiceRuntime
import Tensors
import TrainingService
import VectorIndex
import VisionModels

/// `vf bench serve`: the CIFAR ResNet-20 classifier served by a real vf-serve (model from a real
/// vf-registry), loaded with ModelInfer requests of one 3×32×32 FP32 image from N clients in
/// flight (1, 8, 32) by a native client (the shim's C++ closed loop by default, `--client swift` for
/// async Swift clients): requests/s, p50/p99 latency, mean batch size (from
/// ModelStatistics); the engine's own batch-128 throughput in the same run; vf-serve's peak RSS.
/// `--peer` also runs MLServer 1.7 + ONNX Runtime (`../shared/peers/run mlserver`), and the
/// peer's own Python load generator against vf-serve, so both servers face the same client.
struct ServeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Online inference throughput and latency (vs MLServer with --peer).")

    @Option(help: "Seconds of load per concurrency.") var seconds = 5.0
    @Option(help: "Clients in flight, comma-separated.") var concurrency = "1,8,32"
    @Option(help: "vf-serve's max batch size (its default).") var maxBatch = 8
    @Option(help: "vf-serve's max queue delay, µs.") var delayUs = 200
    @Option(help: "vf-serve's model instances (0: its default, chosen per model).") var instances = 0
    @Option(name: .customLong("client"), help: "Load generator: cpp (the shim's C++ closed loop, as Triton's perf_analyzer) or swift (async Swift clients).")
    var generator: LoadGenerator = .cpp
    @Flag(help: "Also run MLServer's peer and the peer's load generator against vf-serve.") var peer = false
    @Option(help: "Folder of the peer programs.") var peers = "../shared/peers"
    @Flag(help: "Then also load a YOLOX-tiny and a retrieval model with a 100,000-item gallery and report vf-serve's resident memory.")
    var memory = false
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        func log(_ text: String) { if !json { FileHandle.standardError.write(Data((text + "\n").utf8)) } }
        let levels = concurrency.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !levels.isEmpty, levels.allSatisfy({ $0 > 0 }) else { throw ValidationError("--concurrency: positive counts, e.g. 1,8,32") }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("vf-bench-serve-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }

        // The model: CIFAR ResNet-20, 10 classes, seeded weights, packaged as the trainers do.
        let config = try ExperimentConfig.parse(yaml: """
        configVersion: 1
        task: classification
        model: {backbone: {type: resnet_cifar, depth: 20}}
        data: {input: {channels: 3, height: 32, width: 32}, mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26]}
        train: {epochs: 1, batch_size: 128, seed: 1}
        optimizer: {type: sgd, lr: 0.1}
        scheduler: {type: constant}
        """)
        let trainer = try ClassificationTrainer(config: config, classes: 10)
        let classNames = (0..<10).map { "class\($0)" }
        let package = work.appendingPathComponent("package")
        try ModelPackage.write(.classification(trainer.model), manifest: PackageManifests.make(config, classNames: classNames, metrics: [:],
                                                                                                 lineage: .init(dataset: "bench@1")), to: package)

        let registry = try BenchServer(executable: "vf-registry", home: work.appendingPathComponent("registry"))
        defer { registry.stop() }
        _ = try await RegistryClient(address: "127.0.0.1:\(registry.port)", environment: [:])
            .upload(directory: package, model: "resnet20", aliases: ["production"])
        let serve = try BenchServer(executable: "vf-serve", home: work.appendingPathComponent("serve"),
                                    arguments: ["--models", "resnet20@production", "--registry", "127.0.0.1:\(registry.port)",
                                                "--no-metrics", "--no-http", "--max-batch-size", "\(maxBatch)", "--max-queue-delay-us", "\(delayUs)", "--instances", "\(instances)"])
        defer { serve.stop() }
        let channel = try RPCChannel(target: "127.0.0.1:\(serve.port)")
        let client = RPCClient(channel: channel)
        typealias OIP = ServiceCatalog.GRPCInferenceService
        let readyBy = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < readyBy {
            let ready: Inference_ModelReadyResponse? = try? await client.unary(OIP.modelReady.path, Inference_ModelReadyRequest.with { $0.name = "resnet20" })
            if ready?.ready == true { break }
            try await Task.sleep(for: .milliseconds(50))
        }

        var rng = RandomState(seed: 3)
        let image = (0..<(3 * 32 * 32)).map { _ in rng.nextGaussian() }
        var request = Inference_ModelInferRequest()
        request.modelName = "resnet20"
        request.inputs = [.with { $0.name = "images"; $0.datatype = "FP32"; $0.shape = [1, 3, 32, 32] }]
        request.rawInputContents = [image.withUnsafeBytes { Data($0) }]
        let infer = request
        func statistics() async throws -> (Double, Double) {
            let s: Inference_ModelStatisticsResponse = try await client.unary(OIP.modelStatistics.path, Inference_ModelStatisticsRequest.with { $0.name = "resnet20" })
            return (Double(s.modelStats.first?.inferenceCount ?? 0), Double(s.modelStats.first?.executionCount ?? 0))
        }

        // The engine alone (vf-serve idle): ResNet-20's plan on every core, on a batch of `size`.
        let plan = try trainer.model.inferencePlan(height: 32, width: 32)
        func engineRate(_ size: Int, seconds: Double) throws -> Double {
            let batch = Tensor(uninitialized: [size, 3, 32, 32])
            for i in 0..<batch.count { batch.pointer[i] = image[i % image.count] }
            for _ in 0..<2 { _ = try plan.run(batch) }
            let clock = ContinuousClock()
            var runs = 0
            let start = clock.now
            while clock.now - start < .seconds(seconds) { _ = try plan.run(batch); runs += 1 }
            return Double(runs * size) / Self.seconds(clock.now - start)
        }

        var object: [String: Any] = [:]
        var peakRSS = 0.0
        let top = levels.max()!
        var engineAround: [Double] = []
        for level in levels {
            // Warm-up, then the measured window. The top level's window sits between two runs of
            // the engine's batch 128, so the ratio compares figures taken minutes apart by nothing
            // (this host's speed drifts by tens of percent within a minute).
            _ = try await Self.load(generator, channel, infer, clients: level, seconds: min(1, seconds))
            if level == top { engineAround.append(try engineRate(128, seconds: max(2, seconds / 2))) }
            let before = try await statistics()
            let cpuBefore = (server: serve.cpuSeconds(), client: BenchServer.cpuSeconds(pid: nil)), clock = ContinuousClock(), started = clock.now
            let (result, peak) = try await serve.samplingPeak { try await Self.load(generator, channel, infer, clients: level, seconds: seconds) }
            let window = Self.seconds(clock.now - started)
            let serverCores = (serve.cpuSeconds() - cpuBefore.server) / window, clientCores = (BenchServer.cpuSeconds(pid: nil) - cpuBefore.client) / window
            let after = try await statistics()
            if level == top { engineAround.append(try engineRate(128, seconds: max(2, seconds / 2))) }
            peakRSS = max(peakRSS, peak)
            let meanBatch = (after.0 - before.0) / max(after.1 - before.1, 1)
            object["\(level)"] = ["rps": result.rps.rounded(toPlaces: 1), "p50_ms": result.p50.rounded(toPlaces: 3), "p99_ms": result.p99.rounded(toPlaces: 3),
                                  "mean_batch": meanBatch.rounded(toPlaces: 2), "errors": result.errors,
                                  "server_cores": serverCores.rounded(toPlaces: 2), "client_cores": clientCores.rounded(toPlaces: 2)]
            log(String(format: "%d in flight: %.0f requests/s, p50 %.3f ms, p99 %.3f ms, mean batch %.2f, errors %d; cores busy: vf-serve %.2f, load generator %.2f",
                       level, result.rps, result.p50, result.p99, meanBatch, result.errors, serverCores, clientCores))
        }

        // The engine's batch-128 figure: the mean of the runs just before and after the top window.
        let engine = engineAround.reduce(0, +) / Double(engineAround.count)
        let engineMax = try engineRate(maxBatch, seconds: max(2, seconds / 2))
        log(String(format: "engine batch 128: %.0f images/s (%.0f before and %.0f after the %d-in-flight window); batch %d: %.0f images/s",
                   engine, engineAround[0], engineAround[1], top, maxBatch, engineMax))
        object["client"] = generator.rawValue
        object["engine_b128_images_per_s"] = engine.rounded()
        object["engine_b128_before_after"] = engineAround.map { $0.rounded() }
        object["engine_b\(maxBatch)_images_per_s"] = engineMax.rounded()
        object["peak_rss_mib"] = peakRSS.rounded(toPlaces: 1)
        if let rps = (object["\(top)"] as? [String: Any])?["rps"] as? Double {
            object["ratio_rps_\(top)_vs_engine_b128"] = (rps / engine).rounded(toPlaces: 3)
        }

        if memory {
            let (rss, peak) = try await Self.loadMore(registryPort: registry.port, client: client, serve: serve, work: work, log: log)
            object["rss_three_models_mib"] = rss.rounded(toPlaces: 1)
            object["peak_rss_mib"] = max(peakRSS, peak).rounded(toPlaces: 1)
        }
        if peer {
            let venv = URL(fileURLWithPath: NSHomeDirectory()).appendingPathComponent(".cache/visionfleet-peers/mlserver/bin/python").path
            let figures = try PeerProgram.runList(peers, ["mlserver", "\(Int(seconds))", concurrency])
            var theirs: [String: Any] = [:]
            for f in figures { if let c = f["conc"] as? Int { theirs["\(c)"] = f } }
            object["mlserver"] = theirs
            // The same Python client (tritonclient.grpc.aio) against vf-serve.
            let same = try PeerProgram.runScriptList(venv, URL(fileURLWithPath: peers).appendingPathComponent("oip_load.py").path,
                                                     ["127.0.0.1:\(serve.port)", "resnet20", "images", "\(Int(seconds))", concurrency])
            var ours: [String: Any] = [:]
            for f in same { if let c = f["conc"] as? Int { ours["\(c)"] = f } }
            object["python_client"] = ours
            for level in levels {
                if let a = (ours["\(level)"] as? [String: Any])?["rps"] as? Double, let b = (theirs["\(level)"] as? [String: Any])?["rps"] as? Double, b > 0 {
                    object["ratio_rps_\(level)_vs_mlserver_same_client"] = (a / b).rounded(toPlaces: 2)
                }
                if let a = (object["\(level)"] as? [String: Any])?["rps"] as? Double, let b = (theirs["\(level)"] as? [String: Any])?["rps"] as? Double, b > 0 {
                    object["ratio_rps_\(level)_native_vs_mlserver"] = (a / b).rounded(toPlaces: 2)
                }
            }
        }
        if json {
            try JSONLine.print(object)
        } else {
            for key in object.keys.sorted() { print("\(key)\t\(object[key]!)") }
        }
    }

    struct LoadResult { var rps: Double; var p50: Double; var p99: Double; var errors: Int }

    /// Publishes a YOLOX-tiny (128×128) and a retrieval model (128-d, 100,000 random gallery
    /// items), loads both into the running vf-serve beside ResNet-20, and returns its resident
    /// memory once all three serve (and the peak while loading).
    static func loadMore(registryPort: Int, client: RPCClient, serve: BenchServer, work: URL,
                         log: (String) -> Void) async throws -> (Double, Double) {
        let registry = try RegistryClient(address: "127.0.0.1:\(registryPort)", environment: [:])
        let detection = try ExperimentConfig.parse(yaml: """
        configVersion: 1
        task: detection
        model: {type: yolox, size: tiny}
        loss: {type: yolox, box: giou, l1: true}
        data: {input: {channels: 3, height: 128, width: 128}, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}
        train: {epochs: 1, batch_size: 16, seed: 1}
        optimizer: {type: adamw, lr: 0.002}
        scheduler: {type: constant}
        """)
        let names = ["circle", "square", "triangle", "star", "hexagon", "cross"]
        let detector = try DetectionTrainer(config: detection, classNames: names)
        let detDir = work.appendingPathComponent("yolox")
        try ModelPackage.write(.detection(detector.model), manifest: PackageManifests.make(detection, classNames: names, metrics: [:],
                                                                                             lineage: .init(dataset: "bench@1")), to: detDir)
        let retrieval = try ExperimentConfig.parse(yaml: """
        configVersion: 1
        task: retrieval
        model: {backbone: {type: resnet_cifar, depth: 20}, pooling: {type: avg}, neck: {type: projection, dim: 128}}
        loss: {type: arcface}
        data: {input: {channels: 1, height: 28, width: 28}, mean: [0.286], std: [0.353]}
        train: {epochs: 1, batch_size: 64, seed: 1}
        optimizer: {type: sgd, lr: 0.05}
        scheduler: {type: constant}
        """)
        let embedder = try RetrievalTrainer(config: retrieval, classes: 10)
        let gallery = ExactIndex(dimension: 128)
        let count = 100_000
        try gallery.add(SearchBench.random(count, 128, seed: 5), ids: (0..<count).map(Int64.init), labels: (0..<count).map { Int32($0 % 10) })
        let retDir = work.appendingPathComponent("retrieval")
        try ModelPackage.write(.retrieval(embedder.model), manifest: PackageManifests.make(retrieval, classNames: (0..<10).map { "c\($0)" },
                                                                                             metrics: [:], lineage: .init(dataset: "bench@1")),
                               gallery: gallery, to: retDir)
        _ = try await registry.upload(directory: detDir, model: "yolox", aliases: ["production"])
        _ = try await registry.upload(directory: retDir, model: "gallery", aliases: ["production"])
        let clock = ContinuousClock()
        let start = clock.now
        let (_, peak) = try await serve.samplingPeak {
            for name in ["yolox", "gallery"] {
                let _: Inference_RepositoryModelLoadResponse = try await client.unary(
                    ServiceCatalog.GRPCInferenceService.repositoryModelLoad.path, Inference_RepositoryModelLoadRequest.with { $0.modelName = name },
                    options: CallOptions(timeout: .seconds(600)))
            }
        }
        let rss = serve.residentMiB()
        log(String(format: "ResNet-20 + YOLOX-tiny + retrieval (100,000-item gallery) loaded in %.1f s: RSS %.1f MiB (peak %.1f)",
                   seconds(clock.now - start), rss, peak))
        return (rss, peak)
    }

    enum LoadGenerator: String, ExpressibleByArgument, Sendable { case cpp, swift }

    /// `clients` closed loops of ModelInfer for `seconds`; latencies in ms.
    static func load(_ generator: LoadGenerator, _ channel: RPCChannel, _ request: Inference_ModelInferRequest, clients: Int,
                     seconds: Double) async throws -> LoadResult {
        let clock = ContinuousClock()
        let start = clock.now
        var latencies: [Double], answered: Int, errors: Int
        switch generator {
        case .cpp:
            let run = try await UnaryLoad.run(on: channel, method: ServiceCatalog.GRPCInferenceService.modelInfer.path,
                                              request: try request.serializedData(), concurrency: clients, seconds: seconds)
            (latencies, answered, errors) = (run.latenciesMs, run.completed, run.failed)
        case .swift:
            let client = RPCClient(channel: channel)
            let stop = clock.now + .milliseconds(Int(seconds * 1000))
            let results = try await withThrowingTaskGroup(of: ([Double], Int).self) { group in
                for _ in 0..<clients {
                    group.addTask {
                        var latencies: [Double] = [], errors = 0
                        while clock.now < stop {
                            let t = clock.now
                            do {
                                let _: Inference_ModelInferResponse = try await client.unary(ServiceCatalog.GRPCInferenceService.modelInfer.path, request)
                                latencies.append(Self.seconds(clock.now - t) * 1000)
                            } catch { errors += 1 }
                        }
                        return (latencies, errors)
                    }
                }
                var all: [([Double], Int)] = []
                for try await r in group { all.append(r) }
                return all
            }
            latencies = results.flatMap(\.0)
            (answered, errors) = (latencies.count, results.reduce(0) { $0 + $1.1 })
        }
        let elapsed = Self.seconds(clock.now - start)
        latencies.sort()
        func q(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(p * Double(latencies.count)))] }
        return LoadResult(rps: Double(answered) / elapsed, p50: q(0.5), p99: q(0.99), errors: errors)
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
}

extension PeerProgram {
    /// Runs `PEERS/run ARGS...` in its own process group and returns the first JSON list of
    /// objects it prints; the group is then killed (MLServer's peer can hang in its shutdown).
    static func runList(_ peers: String, _ arguments: [String]) throws -> [[String: Any]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        process.arguments = ["/bin/bash", URL(fileURLWithPath: peers).appendingPathComponent("run").path] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        try process.run()
        defer {
            kill(-process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        var pending = Data()
        while true {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: 0x0A) {
                let line = Data(pending[pending.startIndex..<newline])
                pending = Data(pending[(newline + 1)...])
                if let list = try? JSONSerialization.jsonObject(with: line) as? [[String: Any]] { return list }
            }
        }
        throw ValidationError("the peer \(arguments.first ?? "") ended without its JSON figures")
    }

    /// Runs `INTERPRETER SCRIPT ARGS...` whose last line is a JSON list of objects.
    static func runScriptList(_ interpreter: String, _ script: String, _ arguments: [String]) throws -> [[String: Any]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: interpreter)
        process.arguments = [script] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let last = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        guard process.terminationStatus == 0, let list = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [[String: Any]] else {
            throw ValidationError("\(script) failed (exit \(process.terminationStatus)): \(last)")
        }
        return list
    }
}
