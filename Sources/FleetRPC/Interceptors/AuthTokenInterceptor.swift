import Foundation

/// Rejects calls without `authorization: Bearer <token>` matching one of the accepted tokens
/// (UNAUTHENTICATED when missing or malformed, PERMISSION_DENIED when unknown). The accepted
/// token's name is the call's `CallPrincipal.name` (audit records name it).
public struct AuthTokenInterceptor: InlineServerInterceptor {
    /// token → name
    private let tokens: [String: String]
    /// Methods that skip the check (e.g. a public liveness probe), by full path.
    private let exempt: Set<String>

    /// Tokens written `name:token` are named; a bare token is named "token".
    public init(tokens: Set<String>, exempt: Set<String> = []) {
        self.tokens = Self.named(tokens)
        self.exempt = exempt
    }

    /// token → name, from entries written `name:token` or a bare token (named "token").
    public static func named(_ tokens: Set<String>) -> [String: String] {
        var named: [String: String] = [:]
        for entry in tokens {
            if let colon = entry.firstIndex(of: ":"), colon != entry.startIndex {
                named[String(entry[entry.index(after: colon)...])] = String(entry[..<colon])
            } else {
                named[entry] = "token"
            }
        }
        return named
    }

    public func intercept(context: ServerContext, next: @Sendable () async throws -> Void) async throws {
        guard let name = try principal(context) else { return try await next() }
        try await CallPrincipal.$name.withValue(name) { try await next() }
    }

    public func admit(context: ServerContext) throws {
        _ = try principal(context)
    }

    public func completed(context: ServerContext, error: (any Error)?, duration: Duration) {}

    /// The accepted token's name; nil for an exempt method. Throws for a missing or unknown token.
    private func principal(_ context: ServerContext) throws -> String? {
        if exempt.contains(context.method) { return nil }
        guard let header = context.requestMetadata["authorization"] else {
            throw RPCError(code: .unauthenticated, message: "missing authorization metadata (expected 'Bearer <token>')")
        }
        let prefix = "bearer "
        guard header.lowercased().hasPrefix(prefix) else {
            throw RPCError(code: .unauthenticated, message: "authorization metadata must be 'Bearer <token>'")
        }
        let token = String(header.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
        guard let name = tokens[token] else {
            throw RPCError(code: .permissionDenied, message: "the bearer token is not accepted")
        }
        return name
    }
}
