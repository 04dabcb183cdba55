import FleetRPC
import Foundation
import ServiceRuntime

/// A real server on 127.0.0.1:0 with the given services, and a client connected to it. Its
/// transport is grpc's callback API, or the completion queue with `VF_TEST_GRPC_THREADS` threads
/// (scripts/test runs this suite once more with 1, so both transports pass every test).
struct TestServer {
    static let grpcThreads = ProcessInfo.processInfo.environment["VF_TEST_GRPC_THREADS"].flatMap(Int.init) ?? 0

    let server: RPCServer
    let port: Int
    let client: RPCClient

    static func start(
        services: [any RPCService] = [EchoService()], interceptors: [any ServerInterceptor] = [],
        config: ServerConfig = ServerConfig(host: "127.0.0.1", port: 0), clientTLS: TLSConfig? = nil
    ) async throws -> TestServer {
        var config = config
        config.completionQueueThreads = grpcThreads
        let server = RPCServer(config: config, services: services, interceptors: interceptors)
        let port = try await server.start()
        let channel = try RPCChannel(target: "127.0.0.1:\(port)", tls: clientTLS)
        return TestServer(server: server, port: port, client: RPCClient(channel: channel))
    }

    func stop() async { await server.shutdown(grace: .seconds(1)) }
}

/// Resident memory of this process in bytes (Linux /proc).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}
