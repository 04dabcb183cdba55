import Logging

/// Logs each call's method, peer, duration and outcome with swift-log.
public struct LoggingInterceptor: InlineServerInterceptor {
    public let level: Logger.Level

    public init(level: Logger.Level = .info) {
        self.level = level
    }

    public func intercept(context: ServerContext, next: @Sendable () async throws -> Void) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            try await next()
            completed(context: context, error: nil, duration: clock.now - start)
        } catch {
            completed(context: context, error: error, duration: clock.now - start)
            throw error
        }
    }

    public func admit(context: ServerContext) throws {}

    public func completed(context: ServerContext, error: (any Error)?, duration: Duration) {
        guard let error else {
            context.logger.log(level: level, "rpc ok", metadata: [
                "method": "\(context.method)", "peer": "\(context.peer)", "duration_ms": "\(Self.milliseconds(duration))",
            ])
            return
        }
        let status = RPCError.from(error)
        context.logger.log(level: status.code == .internal ? .error : level, "rpc failed", metadata: [
            "method": "\(context.method)", "peer": "\(context.peer)", "code": "\(status.code)",
            "message": "\(status.message)", "duration_ms": "\(Self.milliseconds(duration))",
        ])
    }

    static func milliseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }
}
