import CGRPCShim
import Logging
import ServiceLifecycle
import Synchronization

/// A gRPC server over the shim: typed handlers from `RPCService`s, interceptors, the standard
/// `grpc.health.v1.Health` service, graceful shutdown. As a swift-service-lifecycle `Service`,
/// `run()` serves until graceful shutdown is triggered (SIGTERM in an executable's group).
public final class RPCServer: Service, Sendable {
    public let config: ServerConfig
    private let core: ServerCore

    private enum State {
        /// Created; `start()` moves to running.
        case idle
        /// Bound and accepting calls.
        case running(handle: UnsafeHandle, port: Int)
        /// Shut down; terminal.
        case stopped
    }
    private let state = Mutex(State.idle)
    /// Health statuses set before the server ran (or that differ from SERVING at start).
    private let health: Mutex<[String: Bool]>

    public init(config: ServerConfig, services: [any RPCService], interceptors: [any ServerInterceptor] = [],
                logger: Logger = Logger(label: "visionfleet.rpc")) {
        var router = RPCRouter()
        for service in services { service.register(into: &router) }
        self.config = config
        self.health = Mutex(Dictionary(services.map { ($0.serviceName, $0.servingAtStart) }, uniquingKeysWith: { $0 && $1 }))
        self.core = ServerCore(router: router, interceptors: interceptors, logger: logger)
    }

    /// The bound port once running.
    public var port: Int? {
        state.withLock { if case .running(_, let port) = $0 { port } else { nil } }
    }

    /// Binds and starts serving; marks every service SERVING. Returns the bound port.
    @discardableResult
    public func start() async throws -> Int {
        let config = self.config
        let context = UnsafeHandle(Unmanaged.passRetained(core).toOpaque())
        let result: Result<(UnsafeHandle, Int), RPCError> = await BlockingThread.run {
            Self.startServer(config: config, context: context.pointer)
        }
        switch result {
        case .failure(let error):
            Unmanaged<ServerCore>.fromOpaque(context.pointer).release()
            throw error
        case .success(let (handle, port)):
            let started = state.withLock { s -> Bool in
                guard case .idle = s else { return false }
                s = .running(handle: handle, port: port)
                return true
            }
            guard started else {
                await BlockingThread.run { Self.destroy(handle, context: context) }
                throw RPCError(code: .failedPrecondition, message: "the server was already started")
            }
            setServing("", true)
            for (name, serving) in health.withLock({ $0 }) { setServing(name, serving) }
            core.logger.info("serving", metadata: ["host": "\(config.host)", "port": "\(port)",
                                                   "tls": "\(config.tls != nil)"])
            return port
        }
    }

    /// Sets the health status that `grpc.health.v1.Health/Check` and `Watch` report; one set
    /// before `start()` is applied when the server starts.
    public func setServing(_ service: String, _ serving: Bool) {
        health.withLock { $0[service] = serving }
        state.withLock { s in
            if case .running(let handle, _) = s {
                vfg_server_set_serving(OpaquePointer(handle.pointer), service, serving ? 1 : 0)
            }
        }
    }

    /// Stops accepting calls, lets running ones finish within `grace` (default: the config's),
    /// then cancels the rest. Idempotent.
    public func shutdown(grace: Duration? = nil) async {
        let handle = state.withLock { s -> UnsafeHandle? in
            guard case .running(let handle, _) = s else { return nil }
            s = .stopped
            return handle
        }
        guard let handle else { return }
        let seconds = Double((grace ?? config.shutdownGrace).nanoseconds) / 1e9
        let context = UnsafeHandle(Unmanaged.passUnretained(core).toOpaque())
        await BlockingThread.run {
            vfg_server_shutdown(OpaquePointer(handle.pointer), seconds)
            Self.destroy(handle, context: context)
        }
        core.logger.info("stopped")
    }

    public func run() async throws {
        try await start()
        try? await gracefulShutdown()
        await shutdown()
    }

    private static func startServer(config: ServerConfig, context: UnsafeMutableRawPointer) -> Result<(UnsafeHandle, Int), RPCError> {
        var error = [CChar](repeating: 0, count: 512)
        let tls = config.tls
        let handle: OpaquePointer? = config.host.withCString { host in
            withOptionalCString(tls?.certificateChain) { cert in
                withOptionalCString(tls?.privateKey) { key in
                    withOptionalCString(tls?.trustRoots) { ca in
                        var c = vfg_server_config()
                        c.host = host
                        c.port = Int32(config.port)
                        c.max_receive_bytes = Int64(config.maxReceiveBytes)
                        c.max_send_bytes = Int64(config.maxSendBytes)
                        c.write_queue_bytes = config.writeQueueBytes
                        c.write_queue_messages = config.writeQueueMessages
                        c.tls_cert_chain_pem = cert
                        c.tls_private_key_pem = key
                        c.tls_client_ca_pem = ca
                        c.tls_require_client_cert = (tls?.requireClientCertificate ?? false) ? 1 : 0
                        c.completion_queue_threads = Int32(config.completionQueueThreads)
                        return vfg_server_start(&c, serverNewCallCallback, context, &error, error.count)
                    }
                }
            }
        }
        guard let handle else {
            let message = cErrorString(error)
            return .failure(RPCError(code: .unavailable, message: message.isEmpty ? "server start failed" : message))
        }
        return .success((UnsafeHandle(UnsafeMutableRawPointer(handle)), Int(vfg_server_port(handle))))
    }

    /// Frees the C server, then the core reference it held. Blocking.
    private static func destroy(_ handle: UnsafeHandle, context: UnsafeHandle) {
        vfg_server_destroy(OpaquePointer(handle.pointer))
        Unmanaged<ServerCore>.fromOpaque(context.pointer).release()
    }
}

/// A C pointer carried across threads; the owner guarantees its lifetime.
struct UnsafeHandle: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
}

/// The NUL-terminated message a C function wrote into `buffer`.
func cErrorString(_ buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}

func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let string else { return body(nil) }
    return string.withCString(body)
}
