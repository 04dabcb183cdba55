import Foundation
import TestSupport
import XCTest

/// The real vf-registry executable on 127.0.0.1:0 over a given home; its port read from the
/// "serving" log line.
final class RegistryProcess {
    static let executable = Repo.root.appendingPathComponent(".build/debug/vf-registry").path
    let process = Process()
    let logURL: URL
    private(set) var port = 0

    init(home: URL, grace: Int = 1, extraArguments: [String] = []) throws {
        logURL = home.deletingLastPathComponent().appendingPathComponent("\(home.lastPathComponent)-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["--host", "127.0.0.1", "--port", "0", "--home", home.path, "--shutdown-grace", "\(grace)"] + extraArguments
        process.standardError = try FileHandle(forWritingTo: logURL)
        process.standardOutput = FileHandle.nullDevice
    }

    /// Starts it and waits (up to 20 s) for its port.
    func start() async throws {
        try process.run()
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains("serving") && $0.contains("port=") }),
               let range = line.range(of: #"port=\d+"#, options: .regularExpression) {
                port = Int(line[range].dropFirst(5))!
                return
            }
            guard process.isRunning else { throw XCTSkip("vf-registry exited: \(text)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw NSError(domain: "RegistryProcess", code: 1, userInfo: [NSLocalizedDescriptionKey: "no port in 20 s"])
    }

    func kill(_ signal: Int32 = SIGKILL) {
        Foundation.kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }
}
