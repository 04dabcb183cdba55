/// Per-call client options.
public struct CallOptions: Sendable {
    /// The call fails with DEADLINE_EXCEEDED when it takes longer.
    public var timeout: Duration?
    /// Request metadata (auth tokens and the like).
    public var metadata: Metadata
    /// Wait for the channel to connect instead of failing fast with UNAVAILABLE.
    public var waitForReady: Bool

    public init(timeout: Duration? = nil, metadata: Metadata = [:], waitForReady: Bool = false) {
        self.timeout = timeout
        self.metadata = metadata
        self.waitForReady = waitForReady
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000
    }
}
