import FleetRPC
import Foundation
import ServiceRuntime

/// A real server on 127.0.0.1:0 with the given services, and a client connected to it.
struct TestServer {
    let server: RPCServer
    let port: Int
    let client: RPCClient

    static func start(
        services: [any RPCService] = [EchoService()], interceptors: [any ServerInterceptor] = [],
        config: ServerConfig = ServerConfig(host: "127.0.0.1", port: 0), clientTLS: TLSConfig? = nil
    ) async throws -> TestServer {
        let server = RPCServer(config: config, services: services, interceptors: interceptors)
        let port = try await server.start()
        let channel = try RPCChannel(target: "127.0.0.1:\(port)", tls: clientTLS)
        return TestServer(server: server, port: port, client: RPCClient(channel: channel))
    }

    func stop() async { await server.shutdown(grace: .seconds(1)) }
}

/// Paths of the repository, found from this file.
enum Repo {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
}

/// Runs a program to completion and returns its exit status and output.
@discardableResult
func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Drain both pipes while the process runs, so a chatty child cannot block.
    let group = DispatchGroup()
    nonisolated(unsafe) var outData = Data()
    nonisolated(unsafe) var errData = Data()
    DispatchQueue.global().async(group: group) { outData = out.fileHandleForReading.readDataToEndOfFile() }
    DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
    process.waitUntilExit()
    group.wait()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// The Python of the test venv (grpcio, grpcio-health-checking, tritonclient), made on demand.
enum PythonVenv {
    static let python: String = {
        guard let result = try? runProcess("/bin/bash", [Repo.path("scripts/python-venv.sh")]), result.status == 0 else {
            return "python-venv-failed"
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }()
}

/// Resident memory of this process in bytes (Linux /proc).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}
