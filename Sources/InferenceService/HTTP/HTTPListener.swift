import Hummingbird
import Logging

/// How vf-serve's HTTP endpoints (metrics, inference) run: a Hummingbird application on
/// `host:port`, reporting the port it bound and logging it once listening.
enum HTTPListener {
    static func run<Responder: HTTPResponder>(_ responder: Responder, host: String, port: Int, logger: Logger, listening: String,
                                              path: String, bound: @escaping @Sendable (Int?) -> Void) async throws
        where Responder.Context == BasicRequestContext {
        let app = Application(responder: responder, configuration: .init(address: .hostname(host, port: port)),
                              onServerRunning: { channel in
                                  let port = channel.localAddress?.port
                                  bound(port)
                                  logger.info("\(listening)", metadata: ["port": "\(port ?? 0)", "path": "\(path)"])
                              },
                              logger: logger)
        // `run`, not `runService`: the caller's group (vf-serve's) owns the signals and the
        // shutdown order; `runService` would stop on SIGTERM by itself, ahead of its turn.
        try await app.run()
    }
}
