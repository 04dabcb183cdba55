import Foundation

/// Rejects calls without `authorization: Bearer <token>` matching one of the accepted tokens
/// (UNAUTHENTICATED when missing or malformed, PERMISSION_DENIED when unknown).
public struct AuthTokenInterceptor: ServerInterceptor {
    private let tokens: Set<String>
    /// Methods that skip the check (e.g. a public liveness probe), by full path.
    private let exempt: Set<String>

    public init(tokens: Set<String>, exempt: Set<String> = []) {
        self.tokens = tokens
        self.exempt = exempt
    }

    public func intercept(context: ServerContext, next: @Sendable () async throws -> Void) async throws {
        if exempt.contains(context.method) { return try await next() }
        guard let header = context.requestMetadata["authorization"] else {
            throw RPCError(code: .unauthenticated, message: "missing authorization metadata (expected 'Bearer <token>')")
        }
        let prefix = "bearer "
        guard header.lowercased().hasPrefix(prefix) else {
            throw RPCError(code: .unauthenticated, message: "authorization metadata must be 'Bearer <token>'")
        }
        let token = String(header.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
        guard tokens.contains(token) else {
            throw RPCError(code: .permissionDenied, message: "the bearer token is not accepted")
        }
        try await next()
    }
}
