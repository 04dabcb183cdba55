import ArgumentParser
import FleetRPC
import Foundation
import Logging

/// The flags every VisionFleet server takes. Each also reads `<PREFIX>_<NAME>` from the
/// environment (e.g. `VF_INGEST_PORT`), and tokens from `VISIONFLEET_AUTH_TOKENS`; a flag wins.
public struct ServerOptions: ParsableArguments {
    @Option(help: "Address to bind (env <PREFIX>_HOST).")
    public var host: String?

    @Option(help: "Port to bind; 0 picks a free one (env <PREFIX>_PORT).")
    public var port: Int?

    @Option(help: "PEM certificate chain: serve TLS (env <PREFIX>_TLS_CERT).")
    public var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert (env <PREFIX>_TLS_KEY).")
    public var tlsKey: String?

    @Option(help: "PEM CA bundle of client certificates: verify them (env <PREFIX>_TLS_CLIENT_CA).")
    public var tlsClientCa: String?

    @Flag(help: "Require a client certificate: mutual TLS (env <PREFIX>_TLS_REQUIRE_CLIENT_CERT=1).")
    public var tlsRequireClientCert = false

    @Option(help: "Comma-separated bearer tokens to accept, each optionally `name:token` (the name is recorded as the actor); none = no auth (env VISIONFLEET_AUTH_TOKENS).")
    public var authTokens: String?

    @Option(help: "Seconds running calls may take to finish on shutdown (env <PREFIX>_SHUTDOWN_GRACE).")
    public var shutdownGrace: Double?

    @Option(help: "Largest request message in MiB (env <PREFIX>_MAX_RECEIVE_MIB).")
    public var maxReceiveMib: Int?

    @Option(help: "Log level: trace, debug, info, notice, warning, error (env VISIONFLEET_LOG_LEVEL).")
    public var logLevel: String?

    @Option(help: "gRPC threads: 0 runs calls on grpc's callback threads; N serves one completion queue with N threads (env <PREFIX>_GRPC_THREADS; default per server).")
    public var grpcThreads: Int?

    public init() {}

    /// Resolves flags, then environment, then defaults, into a server config.
    /// `defaultGrpcThreads`: the server's transport when neither flag nor environment names one
    /// (0: grpc's callback API; vf-serve serves its queue with one thread).
    public func resolve(prefix: String, defaultPort: Int, defaultGrpcThreads: Int = 0,
                        environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ResolvedServerOptions {
        func env(_ name: String) -> String? {
            environment["\(prefix)_\(name)"].flatMap { $0.isEmpty ? nil : $0 }
        }
        func number<T: LosslessStringConvertible>(_ flag: T?, _ name: String, _ fallback: T) throws -> T {
            if let flag { return flag }
            guard let raw = env(name) else { return fallback }
            guard let value = T(raw) else {
                throw ValidationError("\(prefix)_\(name): expected a number, got '\(raw)'")
            }
            return value
        }
        var config = ServerConfig()
        config.host = host ?? env("HOST") ?? "0.0.0.0"
        config.port = try number(port, "PORT", defaultPort)
        guard (0...65535).contains(config.port) else { throw ValidationError("port \(config.port) is out of range 0...65535") }
        config.shutdownGrace = .milliseconds(Int(try number(shutdownGrace, "SHUTDOWN_GRACE", 10.0) * 1000))
        config.maxReceiveBytes = try number(maxReceiveMib, "MAX_RECEIVE_MIB", 64) << 20
        config.completionQueueThreads = try number(grpcThreads, "GRPC_THREADS", defaultGrpcThreads)
        guard (0...64).contains(config.completionQueueThreads) else {
            throw ValidationError("--grpc-threads \(config.completionQueueThreads) is out of range 0...64")
        }

        let certPath = tlsCert ?? env("TLS_CERT")
        let keyPath = tlsKey ?? env("TLS_KEY")
        let caPath = tlsClientCa ?? env("TLS_CLIENT_CA")
        let requireClient = tlsRequireClientCert || env("TLS_REQUIRE_CLIENT_CERT") == "1"
        switch (certPath, keyPath) {
        case (nil, nil):
            if caPath != nil || requireClient { throw ValidationError("client-certificate options need --tls-cert and --tls-key") }
        case (let cert?, let key?):
            config.tls = TLSConfig(
                certificateChain: try Self.readPEM(cert, option: "--tls-cert"),
                privateKey: try Self.readPEM(key, option: "--tls-key"),
                trustRoots: try caPath.map { try Self.readPEM($0, option: "--tls-client-ca") },
                requireClientCertificate: requireClient)
            if requireClient && caPath == nil { throw ValidationError("--tls-require-client-cert needs --tls-client-ca") }
        default:
            throw ValidationError("--tls-cert and --tls-key go together")
        }

        let tokens = (authTokens ?? environment["VISIONFLEET_AUTH_TOKENS"] ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let level = logLevel ?? environment["VISIONFLEET_LOG_LEVEL"] ?? "info"
        guard let parsedLevel = Logger.Level(rawValue: level) else {
            throw ValidationError("log level '\(level)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        return ResolvedServerOptions(config: config, authTokens: Set(tokens), logLevel: parsedLevel)
    }

    static func readPEM(_ path: String, option: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("\(option) \(path): cannot read the file")
        }
        guard text.contains("-----BEGIN ") else { throw ValidationError("\(option) \(path): not a PEM file") }
        return text
    }
}

/// Server options after flags, environment and defaults were applied.
public struct ResolvedServerOptions: Sendable {
    public var config: ServerConfig
    public var authTokens: Set<String>
    public var logLevel: Logger.Level
}
