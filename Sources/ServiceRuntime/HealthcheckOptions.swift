import ArgumentParser
import FleetRPC
import Foundation

/// What a server binary's `healthcheck` subcommand takes (the container healthcheck: no extra
/// probe binary). Checks grpc.health.v1 on 127.0.0.1 at the port the server itself would bind
/// (`<PREFIX>_PORT` or its default) and exits 0 only when the answer is SERVING.
public struct HealthcheckOptions: ParsableArguments {
    @Option(help: "HOST:PORT to check (default 127.0.0.1 and the server's own port setting).")
    public var address: String?

    @Option(help: "Service name to check (default: the whole server).")
    public var service = ""

    @Option(help: "Seconds to wait for the answer.")
    public var timeout = 3.0

    public init() {}

    public func check(prefix: String, defaultPort: Int, environment: [String: String] = ProcessInfo.processInfo.environment) async throws {
        let port = environment["\(prefix)_PORT"].flatMap { Int($0) } ?? defaultPort
        let target = address ?? "127.0.0.1:\(port)"
        let client = RPCClient(channel: try RPCChannel(target: target))
        do {
            let status = try await HealthProbe.check(client, service: service, timeout: .milliseconds(Int(timeout * 1000)))
            print("\(target)\t\(status)")
            if status != .serving { throw ExitCode(1) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            print("\(target)\tunreachable: \(error)")
            throw ExitCode(1)
        }
    }
}
