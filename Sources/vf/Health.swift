import ArgumentParser
import FleetRPC
import Foundation
import ServiceRuntime

/// `vf health`: asks servers' grpc.health.v1.Health/Check; exits non-zero unless all SERVING.
struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check the health of VisionFleet servers.")

    @Argument(help: "Targets as host:port.")
    var targets: [String]

    @Option(help: "Service name to check (default: the whole server).")
    var service = ""

    @Option(help: "Seconds to wait for each server.")
    var timeout = 5.0

    @Option(help: "PEM CA bundle: connect with TLS.")
    var tlsCa: String?

    func run() async throws {
        let tls = try tlsCa.map { TLSConfig(trustRoots: try String(contentsOfFile: $0, encoding: .utf8)) }
        var healthy = true
        for target in targets {
            let client = RPCClient(channel: try RPCChannel(target: target, tls: tls))
            do {
                let status = try await HealthProbe.check(client, service: service, timeout: .milliseconds(Int(timeout * 1000)))
                print("\(target)\t\(status)")
                if status != .serving { healthy = false }
            } catch {
                print("\(target)\tunreachable: \(error)")
                healthy = false
            }
        }
        if !healthy { throw ExitCode(1) }
    }
}
