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
        try await HTTPListener.run(router.buildResponder(), host: host, port: port, logger: logger, listening: "metrics listening",
                                   path: "/metrics") { [self] port in bound.withLock { $0 = port } }
    }
}
