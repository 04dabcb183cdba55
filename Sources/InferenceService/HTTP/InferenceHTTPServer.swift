import FleetProtos
import FleetRPC
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// The Open Inference Protocol over HTTP/REST (KServe v2, Triton's port 8000), so
/// `tritonclient.http`, KServe clients and plain `curl` work unchanged: health, server and model
/// metadata, model config, infer (JSON, or with Triton's binary tensor extension), statistics and
/// the repository API. Each request runs the same code as its gRPC twin.
public final class InferenceHTTPServer: Service, Sendable {
    let host: String
    let port: Int
    let repository: ModelRepository
    let sharedMemory: SharedMemoryRegions
    let maxBodyBytes: Int
    /// Accepted bearer tokens (token → name), as the gRPC server's `--auth-tokens`; empty = open.
    let tokens: [String: String]
    let logger: Logger
    private let bound = Mutex<Int?>(nil)

    public init(host: String, port: Int, repository: ModelRepository, sharedMemory: SharedMemoryRegions = SharedMemoryRegions(allowClients: false),
                maxBodyBytes: Int = 64 << 20, authTokens: Set<String> = [], logger: Logger = Logger(label: "visionfleet.vf-serve.http")) {
        self.tokens = AuthTokenInterceptor.named(authTokens)
        self.host = host
        self.port = port
        self.repository = repository
        self.sharedMemory = sharedMemory
        self.maxBodyBytes = maxBodyBytes
        self.logger = logger
    }

    /// The bound port once running.
    public var boundPort: Int? { bound.withLock { $0 } }

    public func run() async throws {
        try await HTTPListener.run(JSONErrors(inner: makeRouter().buildResponder(), tokens: tokens), host: host, port: port, logger: logger,
                                   listening: "inference HTTP listening", path: "/v2") { [self] port in bound.withLock { $0 = port } }
    }

    static func json(_ data: Data, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func json(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        json((try? JSONSerialization.data(withJSONObject: object)) ?? Data("{}".utf8), status: status)
    }

    /// An error as Triton's HTTP API gives it: `{"error": "..."}` with the status for its kind.
    static func failure(_ error: any Error) -> Response {
        if let http = error as? HTTPError { return json(["error": http.body ?? http.status.reasonPhrase], status: http.status) }
        let status: HTTPResponse.Status
        switch error as? ServeError {
        case .invalidArgument?, .failedPrecondition?: status = .badRequest
        case .notFound?: status = .notFound
        case .unavailable?: status = .serviceUnavailable
        case .resourceExhausted?: status = .tooManyRequests
        case .deadlineExceeded?: status = .gatewayTimeout
        case .alreadyExists?: status = .conflict
        case .unsupported?: status = .notImplemented
        case .failed?, nil: status = .internalServerError
        }
        return json(["error": "\(error)"], status: status)
    }

    /// A small JSON request body (repository and shared-memory calls) as an object; nil when
    /// empty or not an object.
    static func jsonBody(_ request: Request) async throws -> [String: Any]? {
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        return (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any]
    }

    /// Runs `body`, turning a thrown error into its HTTP answer.
    static func answer(_ body: () async throws -> Response) async -> Response {
        do { return try await body() } catch { return failure(error) }
    }

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        let repository = self.repository, sharedMemory = self.sharedMemory, maxBody = maxBodyBytes
        router.get("v2/health/live") { _, _ in Response(status: .ok) }
        router.get("v2/health/ready") { _, _ in Response(status: repository.allReady ? .ok : .badRequest) }
        router.get("v2") { _, _ in
            Self.json(["name": InferenceProtocolService.serverName, "version": InferenceProtocolService.serverVersion,
                       "extensions": InferenceProtocolService.extensions + ["binary_tensor_data"]])
        }
        router.get("v2/logging") { _, _ in Self.json(LogSettingsEndpoint.json(LogSettingsEndpoint.current())) }
        router.post("v2/logging") { request, _ in
            await Self.answer {
                guard let body = try await Self.jsonBody(request) else {
                    throw ServeError.invalidArgument(item: "log settings", field: "body", message: "expected a JSON object of settings")
                }
                return Self.json(LogSettingsEndpoint.json(try LogSettingsEndpoint.update(LogSettingsEndpoint.changes(fromJSON: body))))
            }
        }
        for path in ["v2/trace/setting", "v2/models/:name/trace/setting"] {
            router.get(RouterPath(path)) { _, context in
                await Self.answer {
                    Self.json(TraceSettingEndpoint.json(try TraceSettingEndpoint.apply([:], model: context.parameters.get("name"), repository)))
                }
            }
            router.post(RouterPath(path)) { request, context in
                await Self.answer {
                    guard let body = try await Self.jsonBody(request) else {
                        throw ServeError.invalidArgument(item: "trace settings", field: "body", message: "expected a JSON object of settings")
                    }
                    let changes = try TraceSettingEndpoint.changes(fromJSON: body)
                    return Self.json(TraceSettingEndpoint.json(try TraceSettingEndpoint.apply(changes, model: context.parameters.get("name"), repository)))
                }
            }
        }
        router.get("v2/models/stats") { _, _ in
            await Self.answer { Self.json(RESTInference.json(try InferenceProtocolService.statistics(.init(), repository: repository))) }
        }
        router.post("v2/repository/index") { request, _ in
            await Self.answer {
                let readyOnly = (try await Self.jsonBody(request)?["ready"] as? Bool) ?? false
                return Self.json(InferenceProtocolService.repositoryIndex(readyOnly: readyOnly, repository: repository).models.map {
                    ["name": $0.name, "version": $0.version, "state": $0.state, "reason": $0.reason]
                })
            }
        }
        for action in ["load", "unload"] {
            router.post("v2/repository/models/:name/\(action)") { request, context in
                await Self.answer {
                    let name = context.parameters.get("name") ?? ""
                    let object = try await Self.jsonBody(request)
                    if action == "load" {
                        var parameters: [String: Inference_ModelRepositoryParameter] = [:]
                        for (key, value) in RESTInference.textParameters(object?["parameters"]) {
                            parameters[key] = .with { $0.stringParam = value }
                        }
                        try await repository.loadAndRemember(try InferenceProtocolService.reference(name, parameters))
                    } else {
                        try await repository.unloadAndForget(name)
                    }
                    return Response(status: .ok)
                }
            }
        }
        // Triton's shared-memory extension over HTTP (system regions; CUDA is refused).
        for prefix in ["v2/systemsharedmemory", "v2/systemsharedmemory/region/:region"] {
            router.get(RouterPath(prefix + "/status")) { _, context in
                await Self.answer {
                    let status = try sharedMemory.status(name: context.parameters.get("region") ?? "")
                    return Self.json(status.values.sorted { $0.name < $1.name }.map {
                        ["name": $0.name, "key": $0.key, "offset": NSNumber(value: $0.offset), "byte_size": NSNumber(value: $0.byteSize)] as [String: Any]
                    })
                }
            }
            router.post(RouterPath(prefix + "/unregister")) { _, context in
                await Self.answer {
                    try sharedMemory.unregister(name: context.parameters.get("region") ?? "")
                    return Response(status: .ok)
                }
            }
        }
        router.post("v2/systemsharedmemory/region/:region/register") { request, context in
            await Self.answer {
                let name = context.parameters.get("region") ?? ""
                guard let object = try await Self.jsonBody(request), let key = object["key"] as? String else {
                    throw ServeError.invalidArgument(item: name, field: "key", message: "the body must be a JSON object with a string 'key'")
                }
                func number(_ field: String) throws(ServeError) -> UInt64 {
                    guard let value = object[field] else { return 0 }
                    guard let n = value as? NSNumber, RESTInference.isInteger(n), n.int64Value >= 0 else {
                        throw .invalidArgument(item: name, field: field, message: "must be a non-negative integer")
                    }
                    return n.uint64Value
                }
                try sharedMemory.register(name: name, key: key, offset: try number("offset"), byteSize: try number("byte_size"))
                return Response(status: .ok)
            }
        }
        router.get("v2/cudasharedmemory/status") { _, _ in Self.json([Any]()) }
        for path in ["v2/cudasharedmemory/region/:region/register", "v2/cudasharedmemory/unregister", "v2/cudasharedmemory/region/:region/unregister"] {
            router.post(RouterPath(path)) { _, _ in Self.failure(ServeError.unsupported("CUDA shared memory: vf-serve runs on CPUs")) }
        }
        // Model routes, with and without `/versions/N`.
        for prefix in ["v2/models/:name", "v2/models/:name/versions/:version"] {
            @Sendable func ids(_ context: BasicRequestContext) -> (String, String) {
                (context.parameters.get("name") ?? "", context.parameters.get("version") ?? "")
            }
            router.get(RouterPath(prefix)) { _, context in
                await Self.answer {
                    let (name, version) = ids(context)
                    let metadata = try await repository.withLease(name, version: version) { ModelDescription.metadata($0) }
                    let tensors = { (list: [Inference_ModelMetadataResponse.TensorMetadata]) in
                        list.map { ["name": $0.name, "datatype": $0.datatype, "shape": $0.shape.map { NSNumber(value: $0) }] as [String: Any] }
                    }
                    return Self.json(["name": metadata.name, "versions": metadata.versions, "platform": metadata.platform,
                                      "inputs": tensors(metadata.inputs), "outputs": tensors(metadata.outputs)])
                }
            }
            router.get(RouterPath(prefix + "/ready")) { _, context in
                let (name, version) = ids(context)
                let ready = (try? await repository.withLease(name, version: version) { _ in true }) ?? false
                return Response(status: ready ? .ok : .badRequest)
            }
            router.get(RouterPath(prefix + "/config")) { _, context in
                await Self.answer {
                    let (name, version) = ids(context)
                    return Self.json(RESTInference.json(try await repository.withLease(name, version: version) { ModelDescription.config($0) }))
                }
            }
            router.get(RouterPath(prefix + "/stats")) { _, context in
                await Self.answer {
                    let (name, version) = ids(context)
                    let stats = try InferenceProtocolService.statistics(.with { $0.name = name; $0.version = version }, repository: repository)
                    return Self.json(RESTInference.json(stats))
                }
            }
            router.post(RouterPath(prefix + "/infer")) { request, context in
                await Self.answer {
                    let (name, version) = ids(context)
                    let encoding = (request.headers[.contentEncoding] ?? "identity").lowercased()
                    guard ["identity", "gzip", "deflate"].contains(encoding) else {
                        throw ServeError.invalidArgument(item: name, field: "Content-Encoding", message: "'\(encoding)' is not supported (gzip, deflate or none)")
                    }
                    var request = request
                    let received: ByteBuffer
                    do { received = try await request.collectBody(upTo: maxBody) } catch {
                        throw HTTPError(.contentTooLarge, message: "the request body is over vf-serve's limit of \(maxBody >> 20) MiB")
                    }
                    var body = Data(buffer: received)
                    if encoding != "identity" {
                        do { body = try BodyInflater.inflate(body, encoding: encoding, limit: maxBody, item: name) } catch ServeError.resourceExhausted(let message) {
                            throw HTTPError(.contentTooLarge, message: message)
                        }
                    }
                    var headerLength: Int?
                    let lengthHeader = request.headers.first { $0.name.canonicalName == RESTInference.headerLengthField.lowercased() }
                    if let text = lengthHeader?.value {
                        guard let n = Int(text) else {
                            throw ServeError.invalidArgument(item: name, field: RESTInference.headerLengthField, message: "'\(text)' is not a number")
                        }
                        headerLength = n
                    }
                    let parsed = try RESTInference.parse(body, headerLength: headerLength, model: name, version: version)
                    let response = try await InferenceProtocolService.infer(parsed.request, repository: repository, sharedMemory: sharedMemory, deadline: nil)
                    let (json, binary) = RESTInference.encode(response, parsed: parsed)
                    guard !binary.isEmpty else { return Self.json(json) }
                    var out = ByteBuffer(bytes: json)
                    out.writeBytes(binary)
                    return Response(status: .ok, headers: [.contentType: "application/octet-stream",
                                                           .init(RESTInference.headerLengthField)!: "\(json.count)"],
                                    body: .init(byteBuffer: out))
                }
            }
        }
        return router
    }
}

/// Checks the bearer token (when the server has any; health stays open for probes, as over gRPC)
/// and answers what the routes do not (an unknown path, a body over the limit) as Triton's HTTP
/// API does: `{"error": "..."}` with the status, so clients that parse every error body keep working.
struct JSONErrors<Inner: HTTPResponder>: HTTPResponder where Inner.Context == BasicRequestContext {
    let inner: Inner
    let tokens: [String: String]

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        if !tokens.isEmpty, !request.uri.path.hasPrefix("/v2/health/") {
            guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
                return InferenceHTTPServer.json(["error": "missing Authorization header (expected 'Bearer <token>')"], status: .unauthorized)
            }
            guard tokens[String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)] != nil else {
                return InferenceHTTPServer.json(["error": "the bearer token is not accepted"], status: .forbidden)
            }
        }
        do {
            return try await inner.respond(to: request, context: context)
        } catch let error as any HTTPResponseError {
            let message = (error as? HTTPError)?.body ?? "\(request.method) \(request.uri.path): \(error.status.reasonPhrase)"
            return InferenceHTTPServer.json(["error": message], status: error.status)
        }
    }
}
