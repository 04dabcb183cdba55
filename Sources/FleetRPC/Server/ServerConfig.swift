/// How an RPCServer binds and what it accepts.
public struct ServerConfig: Sendable {
    public var host: String
    /// 0 picks a free port (read it back from `RPCServer.start()`).
    public var port: Int
    public var tls: TLSConfig?
    /// Largest request message accepted (default 64 MiB; gRPC's own default is 4 MiB).
    public var maxReceiveBytes: Int
    public var maxSendBytes: Int
    /// Bound of each call's response queue; a writer waits while it is full.
    public var writeQueueBytes: Int
    public var writeQueueMessages: Int
    /// How long running calls may finish during shutdown before they are cancelled.
    public var shutdownGrace: Duration
    /// 0: grpc's callback API runs calls on grpc's threads. N > 0: one completion queue served
    /// by N threads of the server's own, so a unary call is read, handled inline and answered
    /// with fewer thread hand-offs.
    public var completionQueueThreads: Int

    public init(
        host: String = "127.0.0.1", port: Int = 0, tls: TLSConfig? = nil,
        maxReceiveBytes: Int = 64 << 20, maxSendBytes: Int = 64 << 20,
        writeQueueBytes: Int = 4 << 20, writeQueueMessages: Int = 64,
        shutdownGrace: Duration = .seconds(10), completionQueueThreads: Int = 0
    ) {
        self.host = host
        self.port = port
        self.tls = tls
        self.maxReceiveBytes = maxReceiveBytes
        self.maxSendBytes = maxSendBytes
        self.writeQueueBytes = writeQueueBytes
        self.writeQueueMessages = writeQueueMessages
        self.shutdownGrace = shutdownGrace
        self.completionQueueThreads = completionQueueThreads
    }
}
