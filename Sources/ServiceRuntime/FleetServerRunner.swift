import FleetRPC
import Foundation
import Logging
import ServiceLifecycle

/// Runs one VisionFleet server executable: logging, interceptors, and a `ServiceGroup` that
/// shuts the server down gracefully on SIGTERM or SIGINT.
public enum FleetServerRunner {
    public static func run(name: String, options: ResolvedServerOptions, services: [any RPCService]) async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = options.logLevel
            return handler
        }
        let logger = Logger(label: "visionfleet.\(name)")
        var interceptors: [any ServerInterceptor] = [LoggingInterceptor(level: .debug)]
        if !options.authTokens.isEmpty { interceptors.append(AuthTokenInterceptor(tokens: options.authTokens)) }
        let server = RPCServer(config: options.config, services: services, interceptors: interceptors, logger: logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: server)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}
