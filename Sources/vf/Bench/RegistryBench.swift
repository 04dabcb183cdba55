import ArgumentParser
import FleetProtos
import Foundation
import ServiceRuntime

/// `vf bench registry`: starts a vf-registry process over a temp store and measures, with one
/// client as MLflow's peer program does: 50 MiB package uploads and downloads (MiB/s), 1 MiB
/// package uploads (versions/s), SetAlias (calls/s), GetModelVersion by alias (calls/s, one
/// and 16 in flight), and the server's resident memory around the 50 MiB transfers.
/// `--peer` runs MLflow's registry peer (`../shared/peers/run mlflow`) in the same run and adds
/// its figures and our ratios to them.
struct RegistryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "registry", abstract: "Model registry throughput (vs MLflow with --peer).")

    @Option(help: "Uploads of 50 MiB packages (each distinct bytes).") var bigUploads = 3
    @Option(help: "Uploads of 1 MiB packages.") var smallUploads = 20
    @Option(help: "SetAlias calls.") var aliasCalls = 200
    @Option(help: "GetModelVersion-by-alias calls per concurrency level.") var resolveCalls = 5000
    @Flag(help: "Also run MLflow's registry peer and report ratios.") var peer = false
    @Option(help: "Folder of the peer programs.") var peers = "../shared/peers"
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("vf-bench-registry-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let server = try BenchServer(executable: "vf-registry", home: work.appendingPathComponent("store"))
        defer { server.stop() }
        let client = try RegistryClient(address: "127.0.0.1:\(server.port)", environment: [:])
        let clock = ContinuousClock()
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
        func log(_ text: String) { if !json { FileHandle.standardError.write(Data((text + "\n").utf8)) } }

        // Packages with distinct bytes, so every upload stores (and hashes) its own blob.
        let big = try (0..<bigUploads).map { try BenchPackage.make(in: work, mib: 50, seed: UInt64($0)) }
        let small = try (0...smallUploads).map { try BenchPackage.make(in: work, mib: 1, seed: UInt64(1000 + $0)) }
        _ = try await client.upload(directory: small[0], model: "warmup")  // connection and first-write paths

        let baseline = server.residentMiB()
        var start = clock.now
        for p in big { _ = try await client.upload(directory: p, model: "big") }
        let uploadMBs = Double(50 * bigUploads) / seconds(clock.now - start)
        log(String(format: "%d × 50 MiB uploads: %.1f MiB/s", bigUploads, uploadMBs))
        start = clock.now
        for v in 1...bigUploads {
            let out = work.appendingPathComponent("dl-\(v)")
            try await client.download(.with { $0.name = "big"; $0.version = Int32(v) }, to: out)
            try? FileManager.default.removeItem(at: out)
        }
        let downloadMBs = Double(50 * bigUploads) / seconds(clock.now - start)
        let peak = server.peakResidentMiB()
        log(String(format: "%d × 50 MiB downloads: %.1f MiB/s; server RSS %.1f MiB before, peak %.1f MiB", bigUploads, downloadMBs, baseline, peak))

        start = clock.now
        for p in small.dropFirst() { _ = try await client.upload(directory: p, model: "small") }
        let versionsPerS = Double(smallUploads) / seconds(clock.now - start)
        log(String(format: "%d × 1 MiB versions: %.1f versions/s", smallUploads, versionsPerS))

        _ = try await client.setAlias("small", "champion", version: 1)
        start = clock.now
        for i in 0..<aliasCalls { _ = try await client.setAlias("small", "champion", version: Int32(1 + i % smallUploads)) }
        let aliasPerS = Double(aliasCalls) / seconds(clock.now - start)
        log(String(format: "%d SetAlias: %.0f calls/s", aliasCalls, aliasPerS))

        let ref = Visionfleet_V1_ModelRef.with { $0.name = "small"; $0.alias = "champion" }
        var resolve: [Int: Double] = [:]
        for inFlight in [1, 16] {
            let calls = inFlight == 1 ? resolveCalls / 5 : resolveCalls
            start = clock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<inFlight {
                    group.addTask {
                        for _ in stride(from: worker, to: calls, by: inFlight) { _ = try await client.version(ref) }
                    }
                }
                try await group.waitForAll()
            }
            resolve[inFlight] = Double(calls) / seconds(clock.now - start)
            log(String(format: "GetModelVersion by alias, %d in flight: %.0f calls/s", inFlight, resolve[inFlight]!))
        }

        var object: [String: Any] = [
            "upload_mb_per_s_50mib": (uploadMBs * 10).rounded() / 10, "download_mb_per_s_50mib": (downloadMBs * 10).rounded() / 10,
            "versions_per_s_1mib": (versionsPerS * 10).rounded() / 10, "set_alias_per_s": aliasPerS.rounded(),
            "resolve_per_s": resolve[16]!.rounded(), "resolve_per_s_1": resolve[1]!.rounded(),
            "peak_rss_mib": (peak * 10).rounded() / 10, "rss_growth_mib": ((peak - baseline) * 10).rounded() / 10,
        ]
        if peer {
            let figures = try Self.runMLflowPeer(peers)
            for (key, value) in figures { object["mlflow_\(key)"] = value }
            func ratio(_ ours: String, _ theirs: String) -> Double? {
                guard let a = object[ours] as? Double, let b = figures[theirs] as? Double, b > 0 else { return nil }
                return (a / b * 10).rounded() / 10
            }
            object["ratio_versions_per_s"] = ratio("versions_per_s_1mib", "versions_per_s_1mib")
            object["ratio_upload_mb_per_s"] = ratio("upload_mb_per_s_50mib", "mb_per_s_50mib")
            object["ratio_set_alias_per_s"] = ratio("set_alias_per_s", "set_alias_per_s")
            object["ratio_resolve_per_s"] = ratio("resolve_per_s_1", "resolve_alias_per_s")
        }
        if json {
            try JSONLine.print(object)
        } else {
            for key in object.keys.sorted() { print("\(key)\t\(object[key]!)") }
        }
    }

    /// Runs `PEERS/run mlflow` and returns the JSON object it prints last.
    static func runMLflowPeer(_ peers: String) throws -> [String: Any] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [URL(fileURLWithPath: peers).appendingPathComponent("run").path, "mlflow"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let last = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        guard process.terminationStatus == 0, let object = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any] else {
            throw ValidationError("the MLflow peer failed (exit \(process.terminationStatus)): \(last)")
        }
        return object
    }
}

/// A package folder of `mib` MiB of distinct bytes, as `vf train-local` lays one out.
enum BenchPackage {
    static func make(in parent: URL, mib: Int, seed: UInt64) throws -> URL {
        let directory = parent.appendingPathComponent("pkg-\(mib)-\(seed)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        var words = [UInt64](repeating: 0, count: (mib << 20) / 8)
        for i in words.indices {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            words[i] = state
        }
        let data = words.withUnsafeBytes { Data($0) }
        try data.write(to: directory.appendingPathComponent("weights.safetensors"))
        let digest = SHA256Hex.of(data)
        let manifest = #"{"formatVersion": 2, "task": "classification", "files": {"weights.safetensors": "sha256:\#(digest)"}}"#
        try manifest.write(to: directory.appendingPathComponent("manifest.json"), atomically: true, encoding: .utf8)
        return directory
    }
}
