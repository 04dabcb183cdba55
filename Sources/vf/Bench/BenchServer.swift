import Foundation
import FleetStore

/// A VisionFleet server executable (found beside this one) on 127.0.0.1:0 over a temp home,
/// for benchmarks: its port from the "serving" log line, its memory from /proc.
final class BenchServer: @unchecked Sendable {
    let process = Process()
    let port: Int

    init(executable: String, home: URL, arguments: [String] = [], environment: [String: String] = [:]) throws {
        let path = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent(executable).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: "\(path): build it first (swift build -c release)"])
        }
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let log = home.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["--host", "127.0.0.1", "--port", "0", "--home", home.path] + arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        BenchChildren.add(process)
        let deadline = Date().addingTimeInterval(30)
        var found: Int?
        while found == nil, Date() < deadline, process.isRunning {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains("serving") && $0.contains("port=") }),
               let range = line.range(of: #"port=\d+"#, options: .regularExpression) {
                found = Int(line[range].dropFirst(5))
            } else {
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        guard let found else { process.terminate(); BenchChildren.remove(process); throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "\(executable) did not start"]) }
        port = found
    }

    func stop() {
        defer { BenchChildren.remove(process) }
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    private func status(_ field: String) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else { return 0 }
        return (Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0) / 1024
    }

    func residentMiB() -> Double { status("VmRSS") }
    func peakResidentMiB() -> Double { status("VmHWM") }

    /// CPU seconds (user + system) the server has used so far.
    func cpuSeconds() -> Double { Self.cpuSeconds(pid: process.processIdentifier) }

    /// CPU seconds (user + system) a process has used, from /proc/PID/stat ("self": this one).
    static func cpuSeconds(pid: Int32?) -> Double {
        let path = pid.map { "/proc/\($0)/stat" } ?? "/proc/self/stat"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

extension BenchServer {
    /// Resident and peak memory, sampled while `body` runs (VmHWM can be reset only by root
    /// writes to clear_refs, so the peak is sampled).
    func samplingPeak<T>(_ body: () async throws -> T) async throws -> (T, Double) {
        let peak = PeakSampler(self)
        let sampler = Task.detached { await peak.run() }
        defer { sampler.cancel() }
        let value = try await body()
        sampler.cancel()
        return (value, await peak.value)
    }
}

actor PeakSampler {
    nonisolated let server: BenchServer
    private(set) var value = 0.0
    init(_ server: BenchServer) { self.server = server }
    func run() async {
        while !Task.isCancelled {
            value = max(value, server.residentMiB())
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// Hex SHA-256 of a buffer.
enum SHA256Hex {
    static func of(_ data: Data) -> String { SHA256Stream.digest(of: data).hex }
}
