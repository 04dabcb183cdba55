import ArgumentParser
import Foundation

/// ONNX Runtime's batch-1 latency on the YOLOX-tiny the peer (`../shared/peers/run yolox`)
/// exported, timed by a short script in the peer's own venv: 2 intra-op threads, 10 warm-ups,
/// the median of 200 runs, as the peer times it.
struct ORTLatency {
    let python: URL
    let model: URL
    let script: URL

    /// Where the peer leaves its ONNX file and venv.
    static let exportedModel = URL(fileURLWithPath: "/tmp/peer_yolox_tiny.onnx")

    /// Nil unless the peer's venv exists and it exported its model at or after `since`.
    init?(since: Date, environment: [String: String] = ProcessInfo.processInfo.environment) {
        let cache = environment["VISIONFLEET_PEERS_CACHE"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: environment["XDG_CACHE_HOME"] ?? NSHomeDirectory() + "/.cache").appendingPathComponent("visionfleet-peers")
        python = cache.appendingPathComponent("torch/bin/python")
        model = Self.exportedModel
        guard FileManager.default.isExecutableFile(atPath: python.path),
              let written = (try? FileManager.default.attributesOfItem(atPath: model.path))?[.modificationDate] as? Date,
              written >= since.addingTimeInterval(-1) else { return nil }
        script = FileManager.default.temporaryDirectory.appendingPathComponent("vf-ort-b1-\(UUID().uuidString).py")
        do { try Self.source.write(to: script, atomically: true, encoding: .utf8) } catch { return nil }
    }

    /// Median milliseconds of one batch-1 run.
    func batch1Milliseconds() throws -> Double {
        let process = Process()
        process.executableURL = python
        process.arguments = [script.path, model.path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0, let ms = Double(text) else {
            throw ValidationError("timing ONNX Runtime failed (exit \(process.terminationStatus)): \(text)")
        }
        return ms
    }

    /// Deletes the script.
    func remove() { try? FileManager.default.removeItem(at: script) }

    static let source = """
    import sys, time, numpy as np, onnxruntime as ort
    so = ort.SessionOptions(); so.intra_op_num_threads = 2; so.inter_op_num_threads = 1
    s = ort.InferenceSession(sys.argv[1], so, providers=['CPUExecutionProvider'])
    x = (np.random.rand(1, 3, 128, 128) * 255).astype(np.float32)
    for _ in range(10): s.run(None, {'images': x})
    ts = []
    for _ in range(200):
        t = time.perf_counter(); s.run(None, {'images': x}); ts.append(time.perf_counter() - t)
    print(float(np.median(ts)) * 1e3)
    """
}
