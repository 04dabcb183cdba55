/// Wraps every handled call (after routing, before the handler). An interceptor rejects a call
/// by throwing, or runs it by calling `next`.
public protocol ServerInterceptor: Sendable {
    func intercept(context: ServerContext, next: @Sendable () async throws -> Void) async throws
}

extension Array where Element == any ServerInterceptor {
    /// Runs `body` inside every interceptor, the first one outermost.
    func run(context: ServerContext, body: @escaping @Sendable () async throws -> Void) async throws {
        var next = body
        for interceptor in reversed() {
            let inner = next
            next = { try await interceptor.intercept(context: context, next: inner) }
        }
        try await next()
    }
}
