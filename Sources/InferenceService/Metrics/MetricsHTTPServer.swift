import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// Serves `GET /metrics` (Prometheus text) over HTTP with Hummingbird, until graceful shutdown.
public final class MetricsHTTPServer: Service, Sendable {
    let host: String
    let port: Int
    let metrics: ServeMetrics
    let logger: Logger
    private let bound = Mutex<Int?>(nil)

    public init(host: String, port: Int, metrics: ServeMetrics, logger: Logger = Logger(label: "visionfleet.vf-serve.metrics")) {
        self.host = host
        self.port = port
        self.metrics = metrics
        self.logger = logger
    }

    /// The bound port once running.
    public var boundPort: Int? { bound.withLock { $0 } }

    public func run() async throws {
        let router = Router()
        let metrics = self.metrics
        router.get("metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: metrics.text())))
        }
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port)),
                              onServerRunning: { [self] channel in
                                  let port = channel.localAddress?.port
                                  bound.withLock { $0 = port }
                                  logger.info("metrics listening", metadata: ["port": "\(port ?? 0)", "path": "/metrics"])
                              },
                              logger: logger)
        // `run`, not `runService`: this service's group (vf-serve's) owns the signals and the
        // shutdown order; `runService` would stop on SIGTERM by itself, ahead of its turn.
        try await app.run()
    }
}
