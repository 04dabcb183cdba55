import FleetRPC
import Foundation
import Logging
import ServiceLifecycle

/// Runs one VisionFleet server executable: logging, interceptors, and a `ServiceGroup` that
/// shuts the server down gracefully on SIGTERM or SIGINT.
public enum FleetServerRunner {
    /// `lifecycle`: services that run beside the server and are shut down before it (the group
    /// shuts down last-first), e.g. to end long-lived streams at once.
    /// `created` receives the server before it starts (to set health statuses later);
    /// `announce` logs what the executable decided before logging was set up.
    public static func run(name: String, options: ResolvedServerOptions, services: [any RPCService],
                           lifecycle: [any Service] = [], announce: (Logger) -> Void = { _ in },
                           created: (RPCServer) -> Void = { _ in }) async throws {
        RuntimeLogSettings.shared.values = .init(level: options.logLevel)
        LoggingSystem.bootstrap { label in SwitchableLogHandler(label: label) }
        let logger = Logger(label: "visionfleet.\(name)")
        announce(logger)
        var interceptors: [any ServerInterceptor] = [LoggingInterceptor(level: .debug)]
        if !options.authTokens.isEmpty { interceptors.append(AuthTokenInterceptor(tokens: options.authTokens)) }
        let server = RPCServer(config: options.config, services: services, interceptors: interceptors, logger: logger)
        created(server)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: server)] + lifecycle.map { .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}
