import Foundation

/// A real VisionFleet server executable (`.build/debug/NAME`) on 127.0.0.1:0 over a home
/// folder; its port read from the "serving" log line. For kill-and-restart tests.
public final class ServerProcess {
    public let executable: String
    public let process = Process()
    public let logURL: URL
    public private(set) var port = 0

    public static func path(_ name: String) -> String { Repo.root.appendingPathComponent(".build/debug/\(name)").path }

    public init(_ name: String, home: URL, grace: Int = 1, extraArguments: [String] = []) throws {
        executable = Self.path(name)
        try FileManager.default.createDirectory(at: home.deletingLastPathComponent(), withIntermediateDirectories: true)
        logURL = home.deletingLastPathComponent().appendingPathComponent("\(home.lastPathComponent)-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--host", "127.0.0.1", "--port", "0", "--home", home.path, "--shutdown-grace", "\(grace)"] + extraArguments
        process.standardError = try FileHandle(forWritingTo: logURL)
        process.standardOutput = FileHandle.nullDevice
    }

    public struct StartFailure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts it and waits (up to 20 s) for its port.
    public func start() async throws {
        try process.run()
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let text = log
            if let line = text.split(separator: "\n").first(where: { $0.contains("serving") && $0.contains("port=") }),
               let range = line.range(of: #"port=\d+"#, options: .regularExpression) {
                port = Int(line[range].dropFirst(5))!
                return
            }
            guard process.isRunning else { throw StartFailure(description: "\(executable) exited: \(text)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw StartFailure(description: "\(executable): no port in 20 s")
    }

    public func kill(_ signal: Int32 = SIGKILL) {
        Foundation.kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }

    public var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }
}
