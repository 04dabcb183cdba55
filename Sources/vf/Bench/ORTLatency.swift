import ArgumentParser
import Foundation

/// ONNX Runtime on the YOLOX-tiny the peer (`../shared/peers/run yolox`) exported, in a Python
/// process of the peer's venv (2 intra-op threads, as the peer times it) that stays up and runs
/// a block of batch-1 inferences whenever asked, printing each one's milliseconds. Blocks of it
/// and of our plan taken in turns see the same host: on this one its speed drifts by tens of
/// percent within seconds, so figures timed a minute apart compare nothing.
final class ORTLatency {
    private let process = Process()
    private let commands = Pipe(), answers = Pipe()
    private let script: URL
    private var pending = Data()

    /// Where the peer leaves its ONNX file.
    static let exportedModel = URL(fileURLWithPath: "/tmp/peer_yolox_tiny.onnx")

    /// Nil unless the peer's venv exists and it exported its model at or after `since`.
    init?(since: Date, environment: [String: String] = ProcessInfo.processInfo.environment) {
        let cache = environment["VISIONFLEET_PEERS_CACHE"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: environment["XDG_CACHE_HOME"] ?? NSHomeDirectory() + "/.cache").appendingPathComponent("visionfleet-peers")
        let python = cache.appendingPathComponent("torch/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path),
              let written = (try? FileManager.default.attributesOfItem(atPath: Self.exportedModel.path))?[.modificationDate] as? Date,
              written >= since.addingTimeInterval(-1) else { return nil }
        script = FileManager.default.temporaryDirectory.appendingPathComponent("vf-ort-b1-\(UUID().uuidString).py")
        do {
            try Self.source.write(to: script, atomically: true, encoding: .utf8)
            process.executableURL = python
            process.arguments = [script.path, Self.exportedModel.path]
            process.standardInput = commands
            process.standardOutput = answers
            try process.run()
        } catch {
            try? FileManager.default.removeItem(at: script)
            return nil
        }
    }

    /// Milliseconds of each of `runs` batch-1 inferences, run now.
    func block(_ runs: Int) throws -> [Double] {
        commands.fileHandleForWriting.write(Data("\(runs)\n".utf8))
        while !pending.contains(UInt8(ascii: "\n")) {
            let more = answers.fileHandleForReading.availableData
            guard !more.isEmpty else { throw ValidationError("ONNX Runtime's timing process ended (exit \(process.isRunning ? 0 : process.terminationStatus))") }
            pending.append(more)
        }
        let end = pending.firstIndex(of: UInt8(ascii: "\n"))!
        let line = String(decoding: pending[pending.startIndex..<end], as: UTF8.self)
        pending.removeSubrange(pending.startIndex...end)
        let values = line.split(separator: " ").compactMap { Double($0) }
        guard values.count == runs else { throw ValidationError("ONNX Runtime's timing process answered '\(line)'") }
        return values
    }

    /// Ends the process and deletes the script.
    func close() {
        try? commands.fileHandleForWriting.close()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: script)
    }

    static let source = """
    import sys, time, numpy as np, onnxruntime as ort
    so = ort.SessionOptions(); so.intra_op_num_threads = 2; so.inter_op_num_threads = 1
    s = ort.InferenceSession(sys.argv[1], so, providers=['CPUExecutionProvider'])
    x = (np.random.rand(1, 3, 128, 128) * 255).astype(np.float32)
    for _ in range(10): s.run(None, {'images': x})
    for line in sys.stdin:
        ts = []
        for _ in range(int(line)):
            t = time.perf_counter(); s.run(None, {'images': x}); ts.append((time.perf_counter() - t) * 1e3)
        print(' '.join('%.4f' % v for v in ts), flush=True)
    """
}
