import ServiceLifecycle

/// A step of an executable's `ServiceGroup` that runs `action` when graceful shutdown begins
/// (ending long-lived streams, for one). List it after the RPC server: the group shuts
/// services down last-first.
public struct ShutdownAction: Service {
    let action: @Sendable () -> Void

    public init(_ action: @escaping @Sendable () -> Void) { self.action = action }

    public func run() async throws {
        try? await gracefulShutdown()
        action()
    }
}
