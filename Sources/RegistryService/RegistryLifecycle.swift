import ServiceLifecycle

/// The registry's part in the executable's `ServiceGroup`: on graceful shutdown it ends the
/// event streams at once, so long-lived watchers do not hold the server for its grace period.
/// List it after the RPC server: the group shuts services down last-first.
public struct RegistryLifecycle: Service {
    let registry: ModelRegistry

    public init(registry: ModelRegistry) { self.registry = registry }

    public func run() async throws {
        try? await gracefulShutdown()
        registry.hub.close()
    }
}
