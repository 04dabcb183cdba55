import FleetProtos
import FleetRPC
import Foundation

/// vf-serve's task API (`visionfleet.v1.VisionService`): Classify, Detect, Embed, Search on
/// encoded images (or stored blobs), one image or many per request, unary or streamed, and
/// online changes to a retrieval gallery. Health reports NOT_SERVING until a model is ready.
public struct VisionRPCService: RPCService {
    typealias Methods = ServiceCatalog.VisionService
    let tasks: VisionTasks?

    /// `blobs` fetches a stored image by digest (from vf-ingest); nil refuses blob inputs.
    public init(repository: ModelRepository? = nil, blobs: (@Sendable (String) async throws -> Data)? = nil) {
        tasks = repository.map { VisionTasks(repository: $0, blobs: blobs) }
    }

    public var serviceName: String { Methods.name }
    public var servingAtStart: Bool { tasks == nil ? true : tasks!.repository.anyReady }

    public func register(into router: inout RPCRouter) {
        guard let tasks else { return }
        router.unary(Methods.classify.path) { (r: Visionfleet_V1_ClassifyRequest, c) in try await tasks.classify(r, deadline: c.deadline) }
        router.unary(Methods.detect.path) { (r: Visionfleet_V1_DetectRequest, c) in try await tasks.detect(r, deadline: c.deadline) }
        router.unary(Methods.embed.path) { (r: Visionfleet_V1_EmbedRequest, c) in try await tasks.embed(r, deadline: c.deadline) }
        router.unary(Methods.search.path) { (r: Visionfleet_V1_SearchRequest, c) in try await tasks.search(r, deadline: c.deadline) }
        router.bidirectional(Methods.classifyStream.path) {
            (requests: RequestStream<Visionfleet_V1_ClassifyRequest>, writer: ResponseWriter<Visionfleet_V1_ClassifyResponse>, c) in
            try await Self.inOrder(requests, writer) { try await tasks.classify($0, deadline: c.deadline) }
        }
        router.bidirectional(Methods.detectStream.path) {
            (requests: RequestStream<Visionfleet_V1_DetectRequest>, writer: ResponseWriter<Visionfleet_V1_DetectResponse>, c) in
            try await Self.inOrder(requests, writer) { try await tasks.detect($0, deadline: c.deadline) }
        }
        router.bidirectional(Methods.embedStream.path) {
            (requests: RequestStream<Visionfleet_V1_EmbedRequest>, writer: ResponseWriter<Visionfleet_V1_EmbedResponse>, c) in
            try await Self.inOrder(requests, writer) { try await tasks.embed($0, deadline: c.deadline) }
        }
        router.bidirectional(Methods.searchStream.path) {
            (requests: RequestStream<Visionfleet_V1_SearchRequest>, writer: ResponseWriter<Visionfleet_V1_SearchResponse>, c) in
            try await Self.inOrder(requests, writer) { try await tasks.search($0, deadline: c.deadline) }
        }
        router.unary(Methods.listServedModels.path) { (_: Visionfleet_V1_ListServedModelsRequest, _) in tasks.list() }
        router.unary(Methods.addToGallery.path) { (r: Visionfleet_V1_AddToGalleryRequest, c) in try await tasks.addToGallery(r, deadline: c.deadline) }
        router.unary(Methods.removeFromGallery.path) { (r: Visionfleet_V1_RemoveFromGalleryRequest, _) in try await tasks.removeFromGallery(r) }
    }

    /// Runs a stream's requests concurrently (up to `window` at once, so they batch) and writes
    /// the responses in request order. The first error ends the stream with its status.
    static func inOrder<Request: Sendable, Response: Sendable>(
        _ requests: RequestStream<Request>, _ writer: ResponseWriter<Response>, window: Int = 64,
        _ handle: @escaping @Sendable (Request) async throws -> Response
    ) async throws {
        var pending: [Task<Response, any Error>] = []
        defer { for task in pending { task.cancel() } }
        for try await request in requests {
            pending.append(Task { try await handle(request) })
            if pending.count >= window { try await writer.write(try await pending.removeFirst().value) }
        }
        while !pending.isEmpty { try await writer.write(try await pending.removeFirst().value) }
    }
}
