import FleetProtos
import FleetRPC
import Foundation

/// vf-serve's Open Inference Protocol endpoint (`inference.GRPCInferenceService`, Triton's
/// layout), so `tritonclient.grpc` and `perf_analyzer` work unchanged.
public struct InferenceProtocolService: RPCService {
    public static let serverName = "visionfleet"
    public static let serverVersion = "0.1.0"
    /// Triton's extension names for what this server implements.
    public static let extensions = ["classification", "model_repository", "model_repository(unload_dependents)", "schedule_policy",
                                    "model_configuration", "system_shared_memory", "statistics", "parameters", "logging", "trace"]

    let repository: ModelRepository?
    let sharedMemory: SharedMemoryRegions
    typealias Methods = ServiceCatalog.GRPCInferenceService

    /// Without a repository only liveness and server metadata answer (a server with no models).
    /// `sharedMemory`: the client-registered regions (refused unless allowed).
    public init(repository: ModelRepository? = nil, sharedMemory: SharedMemoryRegions = SharedMemoryRegions(allowClients: false)) {
        self.repository = repository
        self.sharedMemory = sharedMemory
    }
    public var serviceName: String { Methods.name }

    public func register(into router: inout RPCRouter) {
        let repository = self.repository
        router.unary(Methods.serverLive.path) { (_: Inference_ServerLiveRequest, _) in
            Inference_ServerLiveResponse.with { $0.live = true }
        }
        router.unary(Methods.serverReady.path) { (_: Inference_ServerReadyRequest, _) in
            Inference_ServerReadyResponse.with { $0.ready = repository?.allReady ?? true }
        }
        router.unary(Methods.logSettings.path) { (request: Inference_LogSettingsRequest, _) in
            try LogSettingsEndpoint.respond(request)
        }
        router.unary(Methods.serverMetadata.path) { (_: Inference_ServerMetadataRequest, _) in
            Inference_ServerMetadataResponse.with {
                $0.name = Self.serverName
                $0.version = Self.serverVersion
                $0.extensions = repository == nil ? [] : Self.extensions
            }
        }
        guard let repository else { return }
        let sharedMemory = self.sharedMemory
        Self.registerSharedMemory(into: &router, sharedMemory)
        router.unary(Methods.traceSetting.path) { (request: Inference_TraceSettingRequest, _) in
            try TraceSettingEndpoint.respond(request, repository)
        }
        router.unary(Methods.modelReady.path) { (request: Inference_ModelReadyRequest, _) in
            let ready = (try? await repository.withLease(request.name, version: request.version) { _ in true }) ?? false
            return Inference_ModelReadyResponse.with { $0.ready = ready }
        }
        router.unary(Methods.modelMetadata.path) { (request: Inference_ModelMetadataRequest, _) in
            try await repository.withLease(request.name, version: request.version) { ModelDescription.metadata($0) }
        }
        router.unary(Methods.modelConfig.path) { (request: Inference_ModelConfigRequest, _) in
            try await repository.withLease(request.name, version: request.version) { served in
                Inference_ModelConfigResponse.with { $0.config = ModelDescription.config(served) }
            }
        }
        router.unary(Methods.modelInfer.path, inline: { (request: Inference_ModelInferRequest, context, responder) in
            Self.inferInline(request, repository: repository, sharedMemory: sharedMemory, deadline: context.deadline, responder: responder)
        }) { (request: Inference_ModelInferRequest, context) in
            try await Self.infer(request, repository: repository, sharedMemory: sharedMemory, deadline: context.deadline)
        }
        router.bidirectional(Methods.modelStreamInfer.path) {
            (requests: RequestStream<Inference_ModelInferRequest>, writer: ResponseWriter<Inference_ModelStreamInferResponse>, context) in
            try await Self.streamInfer(requests, writer: writer, repository: repository, sharedMemory: sharedMemory, deadline: context.deadline)
        }
        router.unary(Methods.modelStatistics.path) { (request: Inference_ModelStatisticsRequest, _) in
            try Self.statistics(request, repository: repository)
        }
        router.unary(Methods.repositoryIndex.path) { (request: Inference_RepositoryIndexRequest, _) in
            Self.repositoryIndex(readyOnly: request.ready, repository: repository)
        }
        router.unary(Methods.repositoryModelLoad.path) { (request: Inference_RepositoryModelLoadRequest, _) in
            try await repository.loadAndRemember(try Self.reference(request.modelName, request.parameters))
            return Inference_RepositoryModelLoadResponse()
        }
        router.unary(Methods.repositoryModelUnload.path) { (request: Inference_RepositoryModelUnloadRequest, _) in
            try await repository.unloadAndForget(request.modelName)
            return Inference_RepositoryModelUnloadResponse()
        }
    }

    /// The served models and their states (only the ready ones when `readyOnly`); HTTP's index too.
    static func repositoryIndex(readyOnly: Bool, repository: ModelRepository) -> Inference_RepositoryIndexResponse {
        Inference_RepositoryIndexResponse.with { response in
            response.models = repository.status().filter { !readyOnly || $0.state == .ready }.map { s in
                .with {
                    $0.name = s.name
                    $0.version = s.version.map(String.init) ?? ""
                    $0.state = s.state.rawValue
                    $0.reason = s.failure
                }
            }
        }
    }

    /// The registry reference a load names: `NAME`, `NAME@ALIAS` or `NAME@VERSION`, or a `version`
    /// / `alias` parameter. A bare name follows `production`.
    static func reference(_ name: String, _ parameters: [String: Inference_ModelRepositoryParameter]) throws(ServeError)
        -> Visionfleet_V1_ModelRef {
        guard !name.isEmpty else { throw .invalidArgument(item: "", field: "model_name", message: "must not be empty") }
        var ref = Visionfleet_V1_ModelRef()
        let parts = name.split(separator: "@", maxSplits: 1).map(String.init)
        ref.name = parts[0]
        if parts.count == 2 {
            if let v = Int32(parts[1]) { ref.version = v } else { ref.alias = parts[1] }
        } else if case .stringParam(let a)? = parameters["alias"]?.parameterChoice {
            ref.alias = a
        } else if let p = parameters["version"]?.parameterChoice {
            switch p {
            case .int64Param(let v): ref.version = Int32(clamping: v)
            case .stringParam(let s):
                guard let v = Int32(s) else { throw .invalidArgument(item: name, field: "parameters.version", message: "'\(s)' is not a number") }
                ref.version = v
            default: throw .invalidArgument(item: name, field: "parameters.version", message: "must be a number")
            }
        } else {
            ref.alias = "production"
        }
        return ref
    }

    /// The system shared-memory RPCs; CUDA shared memory is refused (no GPUs here), its status empty.
    static func registerSharedMemory(into router: inout RPCRouter, _ regions: SharedMemoryRegions) {
        router.unary(Methods.systemSharedMemoryStatus.path) { (request: Inference_SystemSharedMemoryStatusRequest, _) in
            let status = try regions.status(name: request.name)
            return Inference_SystemSharedMemoryStatusResponse.with { $0.regions = status }
        }
        router.unary(Methods.systemSharedMemoryRegister.path) { (request: Inference_SystemSharedMemoryRegisterRequest, _) in
            try regions.register(name: request.name, key: request.key, offset: request.offset, byteSize: request.byteSize)
            return Inference_SystemSharedMemoryRegisterResponse()
        }
        router.unary(Methods.systemSharedMemoryUnregister.path) { (request: Inference_SystemSharedMemoryUnregisterRequest, _) in
            try regions.unregister(name: request.name)
            return Inference_SystemSharedMemoryUnregisterResponse()
        }
        router.unary(Methods.cudaSharedMemoryStatus.path) { (_: Inference_CudaSharedMemoryStatusRequest, _) in
            Inference_CudaSharedMemoryStatusResponse()
        }
        router.unary(Methods.cudaSharedMemoryRegister.path) { (request: Inference_CudaSharedMemoryRegisterRequest, _) -> Inference_CudaSharedMemoryRegisterResponse in
            throw ServeError.unsupported("cannot register CUDA shared memory region '\(request.name)': vf-serve runs on CPUs")
        }
        router.unary(Methods.cudaSharedMemoryUnregister.path) { (request: Inference_CudaSharedMemoryUnregisterRequest, _) -> Inference_CudaSharedMemoryUnregisterResponse in
            throw ServeError.unsupported("cannot unregister CUDA shared memory region '\(request.name)': vf-serve runs on CPUs")
        }
    }

    static func infer(_ request: Inference_ModelInferRequest, repository: ModelRepository, sharedMemory: SharedMemoryRegions,
                      deadline: ContinuousClock.Instant?) async throws -> Inference_ModelInferResponse {
        try await withCheckedThrowingContinuation { continuation in
            infer(request, repository: repository, sharedMemory: sharedMemory, deadline: deadline) { continuation.resume(with: $0) }
        }
    }

    /// ModelInfer without a task, for tensors sent in the request: read on the grpc thread that
    /// received it, queued for the batcher, answered from the batcher's thread. A request with
    /// encoded images is declined (false): its decoding runs in a task, off grpc's threads.
    static func inferInline(_ request: Inference_ModelInferRequest, repository: ModelRepository, sharedMemory: SharedMemoryRegions,
                            deadline: ContinuousClock.Instant?, responder: UnaryResponder<Inference_ModelInferResponse>) -> Bool {
        if request.inputs.contains(where: { $0.name == InferInputs.imageBytesName }) { return false }
        infer(request, repository: repository, sharedMemory: sharedMemory, deadline: deadline) { result in
            switch result {
            case .success(let response): responder.succeed(response)
            case .failure(let error): responder.fail(error)
            }
        }
        return true
    }

    /// One ModelInfer: the inputs are read (encoded images decoded) on the calling thread, the
    /// images queued for the batcher, and `complete` called once — on the batcher's thread, or
    /// at once when the request fails before that — after its statistics and trace are recorded
    /// and its lease released.
    static func infer(_ request: Inference_ModelInferRequest, repository: ModelRepository, sharedMemory: SharedMemoryRegions,
                      deadline: ContinuousClock.Instant?, complete: @escaping @Sendable (Result<Inference_ModelInferResponse, any Error>) -> Void) {
        let started = ContinuousClock.now
        let served: ServedVersion
        do {
            served = try repository.lease(request.modelName, version: request.modelVersion)
        } catch {
            return complete(.failure(error))
        }
        let trace = repository.tracer.begin(model: served.name)
        @Sendable func answer(_ result: Result<Inference_ModelInferResponse, any Error>, timing: RequestTiming?) {
            let success: Bool
            if case .success = result { success = true } else { success = false }
            served.statistics.recordRequest(success: success, totalNs: DynamicBatcher.nanoseconds(started.duration(to: .now)), timing: timing)
            if let trace { repository.tracer.end(trace, version: served.version, requestID: request.id, timing: timing) }
            served.release()
            complete(result)
        }
        let inputs: InferInputs
        do {
            inputs = try InferInputs.read(request, served: served, sharedMemory: sharedMemory)
        } catch {
            return answer(.failure(error), timing: nil)
        }
        guard !inputs.values.isEmpty else {
            return answer(.failure(ServeError.invalidArgument(item: request.modelName, field: "inputs", message: "the request holds no images")), timing: nil)
        }
        let collector = OutputCollector(count: inputs.values.count) { result in
            switch result {
            case .failure(let error):
                answer(.failure(error), timing: nil)
            case .success(let outputs):
                let timing = outputs.first?.timing
                do {
                    let response = try InferOutputs.response(request, served: served, inputs: inputs, outputs: outputs.map(\.values),
                                                             sharedMemory: sharedMemory)
                    answer(.success(response), timing: timing)
                } catch {
                    answer(.failure(error), timing: timing)
                }
            }
        }
        for (i, values) in inputs.values.enumerated() {
            served.submit(values, deadline: deadline) { collector.deliver(i, $0) }
        }
    }

    /// Requests run concurrently (so they batch); each response, or its error, is written as it
    /// completes, carrying the request's id.
    static func streamInfer(_ requests: RequestStream<Inference_ModelInferRequest>, writer: ResponseWriter<Inference_ModelStreamInferResponse>,
                            repository: ModelRepository, sharedMemory: SharedMemoryRegions, deadline: ContinuousClock.Instant?) async throws {
        let (results, continuation) = AsyncStream.makeStream(of: Inference_ModelStreamInferResponse.self)
        async let written: Void = {
            for await response in results { try await writer.write(response) }
        }()
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for try await request in requests {
                    group.addTask {
                        var response = Inference_ModelStreamInferResponse()
                        do {
                            response.inferResponse = try await infer(request, repository: repository, sharedMemory: sharedMemory, deadline: deadline)
                        } catch {
                            response.errorMessage = "\(error)"
                            response.inferResponse = .with { $0.id = request.id; $0.modelName = request.modelName }
                        }
                        continuation.yield(response)
                    }
                }
                try await group.waitForAll()
            }
        } catch {
            continuation.finish()
            try? await written
            throw error
        }
        continuation.finish()
        try await written
    }

    static func statistics(_ request: Inference_ModelStatisticsRequest, repository: ModelRepository) throws(ServeError)
        -> Inference_ModelStatisticsResponse {
        let versions = repository.servedVersions().filter { request.name.isEmpty || $0.name == request.name }
        if !request.name.isEmpty && versions.isEmpty {
            throw .notFound("model '\(request.name)' is not served")
        }
        let matching = versions.filter { request.version.isEmpty || String($0.version) == request.version }
        if !request.version.isEmpty && matching.isEmpty {
            throw .notFound("version \(request.version) of model '\(request.name)' is not served")
        }
        return .with { $0.modelStats = matching.map { $0.statistics.proto(name: $0.name, version: String($0.version)) } }
    }
}
