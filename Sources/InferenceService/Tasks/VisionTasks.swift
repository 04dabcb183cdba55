import FleetProtos
import Foundation
import VisionData
import VisionModels

/// The task API's work, apart from the RPC plumbing: inputs decoded and preprocessed in the
/// caller's task (in parallel across requests), the model run through its batcher, results
/// post-processed into labels, boxes, embeddings and gallery hits.
struct VisionTasks: Sendable {
    let repository: ModelRepository
    let blobs: (@Sendable (String) async throws -> Data)?

    // MARK: inputs

    /// The images of a request: `images` when given, else `image`.
    func images(_ single: Visionfleet_V1_ImageInput?, _ many: [Visionfleet_V1_ImageInput]) throws(ServeError) -> [(String, Visionfleet_V1_ImageInput)] {
        if !many.isEmpty {
            guard single == nil else { throw .invalidArgument(item: "request", field: "image", message: "send `image` or `images`, not both") }
            return many.enumerated().map { ("images[\($0.offset)]", $0.element) }
        }
        guard let single else { throw .invalidArgument(item: "request", field: "image", message: "the request has no image") }
        return [("image", single)]
    }

    func bytes(_ input: Visionfleet_V1_ImageInput, item: String) async throws -> Data {
        switch input.source {
        case .encoded(let data)?: return data
        case .blobDigest(let digest)?:
            guard let blobs else { throw ServeError.failedPrecondition("\(item): blob inputs need vf-serve started with --ingest") }
            do { return try await blobs(digest) } catch {
                throw ServeError.invalidArgument(item: item, field: "blob_digest", message: "cannot fetch \(digest): \(error)")
            }
        case nil: throw ServeError.invalidArgument(item: item, field: "source", message: "neither encoded bytes nor a blob digest")
        }
    }

    /// The served version for a request's model reference (an alias or version in it must match).
    func withModel<T: Sendable>(_ ref: Visionfleet_V1_ModelRef, task: ModelRuntime.Task,
                                _ body: (ServedVersion) async throws -> T) async throws -> T {
        let version: String = if case .version(let v)? = ref.selector { String(v) } else { "" }
        return try await repository.withLease(ref.name, version: version) { served in
            if case .alias(let alias)? = ref.selector, !alias.isEmpty, !served.alias.isEmpty, alias != served.alias {
                throw ServeError.notFound("model '\(ref.name)' is served at '\(served.alias)', not '\(alias)'")
            }
            guard served.task == task else {
                throw ServeError.failedPrecondition("model '\(ref.name)' is a \(served.taskName) model, not \(task.rawValue)")
            }
            return try await body(served)
        }
    }

    struct Ran: Sendable {
        var outputs: [[Float]]
        var prepared: [ImagePreprocessor.Prepared]
        var timing: Visionfleet_V1_Timing
    }

    /// Decodes, preprocesses and runs every image of a request.
    func run(_ served: ServedVersion, _ inputs: [(String, Visionfleet_V1_ImageInput)], deadline: ContinuousClock.Instant?) async throws -> Ran {
        guard inputs.count <= served.batching.maxBatchSize else {
            throw ServeError.invalidArgument(item: "request", field: "images",
                                             message: "\(inputs.count) images is over the model's max_batch_size \(served.batching.maxBatchSize)")
        }
        let clock = ContinuousClock()
        let start = clock.now
        var prepared: [ImagePreprocessor.Prepared] = []
        for (item, input) in inputs {
            prepared.append(try served.preprocessor.prepare(try await bytes(input, item: item), item: item))
        }
        let decoded = clock.now
        let outputs = try await served.infer(batch: prepared.map(\.values), deadline: deadline)
        var timing = Visionfleet_V1_Timing()
        timing.preprocessMs = Self.ms(start.duration(to: decoded))
        if let t = outputs.first?.timing {
            timing.queueMs = Double(t.queueNs) / 1e6
            timing.inferenceMs = Double(t.computeInferNs) / 1e6
        }
        return Ran(outputs: outputs.map(\.values), prepared: prepared, timing: timing)
    }

    /// Records the request in the version's statistics, whatever its outcome.
    func recorded<T: Sendable>(_ served: ServedVersion, _ body: () async throws -> T) async throws -> T {
        let start = ContinuousClock.now
        do {
            let out = try await body()
            served.statistics.recordRequest(success: true, totalNs: DynamicBatcher.nanoseconds(start.duration(to: .now)), timing: nil)
            return out
        } catch {
            served.statistics.recordRequest(success: false, totalNs: DynamicBatcher.nanoseconds(start.duration(to: .now)), timing: nil)
            throw error
        }
    }

    static func ms(_ d: Duration) -> Double { Double(DynamicBatcher.nanoseconds(d)) / 1e6 }

    static func servedBy(_ served: ServedVersion) -> Visionfleet_V1_ServedVersion {
        .with { $0.model = served.name; $0.version = served.version; $0.alias = served.alias }
    }

    // MARK: tasks

    func classify(_ r: Visionfleet_V1_ClassifyRequest, deadline: ContinuousClock.Instant?) async throws -> Visionfleet_V1_ClassifyResponse {
        guard r.topK >= 0 else { throw ServeError.invalidArgument(item: "request", field: "top_k", message: "must not be negative") }
        let inputs = try images(r.hasImage ? r.image : nil, r.images)
        return try await withModel(r.model, task: .classification) { served in
            try await recorded(served) {
                var ran = try await run(served, inputs, deadline: deadline)
                let post = ContinuousClock.now
                let names = served.manifest.classNames
                let k = r.topK == 0 ? 5 : Int(r.topK)
                let results = ran.outputs.map { probabilities in
                    TaskPostprocess.topClasses(probabilities, k: k).map { c in
                        Visionfleet_V1_ClassScore.with {
                            $0.classID = Int32(c.index); $0.score = c.score; $0.label = c.index < names.count ? names[c.index] : ""
                        }
                    }
                }
                ran.timing.postprocessMs = Self.ms(post.duration(to: .now))
                return .with {
                    if r.images.isEmpty { $0.classes = results[0] } else { $0.results = results.map { c in .with { $0.classes = c } } }
                    $0.servedBy = Self.servedBy(served)
                    $0.timing = ran.timing
                    $0.requestID = r.requestID
                }
            }
        }
    }

    func detect(_ r: Visionfleet_V1_DetectRequest, deadline: ContinuousClock.Instant?) async throws -> Visionfleet_V1_DetectResponse {
        let options = try TaskPostprocess.DetectOptions(scoreThreshold: r.scoreThreshold, iouThreshold: r.iouThreshold,
                                                        maxDetections: Int(r.maxDetections), classAgnostic: r.classAgnosticNms ? true : nil).validated()
        let inputs = try images(r.hasImage ? r.image : nil, r.images)
        return try await withModel(r.model, task: .detection) { served in
            try await recorded(served) {
                var ran = try await run(served, inputs, deadline: deadline)
                let post = ContinuousClock.now
                let names = served.manifest.classNames
                let results: [Visionfleet_V1_ImageDetections] = zip(ran.outputs, ran.prepared).map { output, p in
                    let found = TaskPostprocess.detections(output, served: served, letterbox: p.letterbox, imageWidth: p.width,
                                                           imageHeight: p.height, options: options)
                    return .with { image in
                        image.imageWidth = Int32(p.width)
                        image.imageHeight = Int32(p.height)
                        image.detections = found.map { d in
                            .with {
                                $0.box = .with { $0.xMin = d.x1; $0.yMin = d.y1; $0.xMax = d.x2; $0.yMax = d.y2 }
                                $0.classID = Int32(d.classIndex)
                                $0.label = d.classIndex < names.count ? names[d.classIndex] : ""
                                $0.score = d.score
                            }
                        }
                    }
                }
                ran.timing.postprocessMs = Self.ms(post.duration(to: .now))
                return .with {
                    if r.images.isEmpty {
                        $0.detections = results[0].detections
                        $0.imageWidth = results[0].imageWidth
                        $0.imageHeight = results[0].imageHeight
                    } else {
                        $0.results = results
                    }
                    $0.servedBy = Self.servedBy(served)
                    $0.timing = ran.timing
                    $0.requestID = r.requestID
                }
            }
        }
    }

    func embed(_ r: Visionfleet_V1_EmbedRequest, deadline: ContinuousClock.Instant?) async throws -> Visionfleet_V1_EmbedResponse {
        let inputs = try images(r.hasImage ? r.image : nil, r.images)
        return try await withModel(r.model, task: .retrieval) { served in
            try await recorded(served) {
                let ran = try await run(served, inputs, deadline: deadline)
                return .with {
                    if r.images.isEmpty { $0.embedding = ran.outputs[0] } else { $0.results = ran.outputs.map { e in .with { $0.values = e } } }
                    $0.servedBy = Self.servedBy(served)
                    $0.timing = ran.timing
                    $0.requestID = r.requestID
                }
            }
        }
    }

    func search(_ r: Visionfleet_V1_SearchRequest, deadline: ContinuousClock.Instant?) async throws -> Visionfleet_V1_SearchResponse {
        guard r.k >= 0, r.k <= 10_000 else { throw ServeError.invalidArgument(item: "request", field: "k", message: "\(r.k) is not within 0...10000") }
        guard r.efSearch >= 0 else { throw ServeError.invalidArgument(item: "request", field: "ef_search", message: "must not be negative") }
        return try await withModel(r.model, task: .retrieval) { served in
            try await recorded(served) {
                guard let gallery = served.gallery else { throw ServeError.failedPrecondition("model '\(served.name)' has no gallery") }
                var timing = Visionfleet_V1_Timing()
                let queries: [[Float]]
                switch r.query {
                case .embedding(let e)? where r.images.isEmpty:
                    guard e.embedding.count == gallery.dimension, e.embedding.allSatisfy(\.isFinite) else {
                        throw ServeError.invalidArgument(item: "request", field: "embedding.embedding",
                                                         message: "\(e.embedding.count) values, the gallery holds \(gallery.dimension) (finite)")
                    }
                    queries = [Self.normalized(e.embedding)]
                case .embedding?:
                    throw ServeError.invalidArgument(item: "request", field: "images", message: "send `embedding` or `images`, not both")
                case nil where r.images.isEmpty:
                    throw ServeError.invalidArgument(item: "request", field: "query", message: "the request has no image, embedding or images")
                default:  // `image` or `images` (both: refused as in the other tasks)
                    let image: Visionfleet_V1_ImageInput? = if case .image(let i)? = r.query { i } else { nil }
                    let ran = try await run(served, try images(image, r.images), deadline: deadline)
                    queries = ran.outputs
                    timing = ran.timing
                }
                let post = ContinuousClock.now
                let found = try queries.map { q in
                    try gallery.search(q, k: r.k == 0 ? 10 : Int(r.k), exact: r.exact, ef: Int(r.efSearch)).map { h in
                        Visionfleet_V1_SearchHit.with {
                            $0.itemID = h.item.id; $0.score = h.score; $0.classID = h.item.classId; $0.label = h.item.label
                            $0.blobDigest = h.item.blobDigest
                        }
                    }
                }
                timing.postprocessMs = Self.ms(post.duration(to: .now))
                return .with {
                    if r.images.isEmpty { $0.hits = found[0] } else { $0.results = found.map { h in .with { $0.hits = h } } }
                    $0.servedBy = Self.servedBy(served)
                    $0.timing = timing
                    $0.requestID = r.requestID
                }
            }
        }
    }

    static func normalized(_ v: [Float]) -> [Float] {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? v.map { $0 / norm } : v
    }

    func list() -> Visionfleet_V1_ListServedModelsResponse {
        .with { response in
            response.models = repository.status().map { s in
                .with { m in
                    m.name = s.name
                    m.task = switch s.task {
                    case "classification": .classification
                    case "detection": .detection
                    case "retrieval": .retrieval
                    default: .unspecified
                    }
                    if let v = s.version { m.versions = [.with { $0.model = s.name; $0.version = v; $0.alias = s.alias }] }
                    m.state = s.state.rawValue
                    m.failureReason = s.failure
                }
            }
        }
    }

    // MARK: gallery

    func addToGallery(_ r: Visionfleet_V1_AddToGalleryRequest, deadline: ContinuousClock.Instant?) async throws -> Visionfleet_V1_AddToGalleryResponse {
        guard !r.items.isEmpty else { throw ServeError.invalidArgument(item: "request", field: "items", message: "no items") }
        var seen = Set<String>()
        for (i, item) in r.items.enumerated() {
            guard !item.itemID.isEmpty else { throw ServeError.invalidArgument(item: "items[\(i)]", field: "item_id", message: "must not be empty") }
            guard seen.insert(item.itemID).inserted else {
                throw ServeError.invalidArgument(item: "items[\(i)]", field: "item_id", message: "'\(item.itemID)' appears twice")
            }
        }
        return try await withModel(r.model, task: .retrieval) { served in
            guard let gallery = served.gallery else { throw ServeError.failedPrecondition("model '\(served.name)' has no gallery") }
            var entries: [(item: Gallery.Item, vector: [Float])] = []
            for (i, item) in r.items.enumerated() {
                let vector: [Float]
                switch item.source {
                case .image(let image)?:
                    vector = try await run(served, [("items[\(i)].image", image)], deadline: deadline).outputs[0]
                case .embedding(let e)?:
                    guard e.values.count == gallery.dimension, e.values.allSatisfy(\.isFinite) else {
                        throw ServeError.invalidArgument(item: "items[\(i)]", field: "embedding",
                                                         message: "\(e.values.count) values, the gallery holds \(gallery.dimension) (finite)")
                    }
                    vector = Self.normalized(e.values)
                case nil:
                    throw ServeError.invalidArgument(item: "items[\(i)]", field: "source", message: "neither an image nor an embedding")
                }
                var digest = ""
                if case .image(let image)? = item.source, case .blobDigest(let d)? = image.source { digest = d }
                entries.append((Gallery.Item(id: item.itemID, classId: item.classID, label: item.label, blobDigest: digest), vector))
            }
            let (added, replaced) = try gallery.add(entries)
            return .with {
                $0.added = Int32(added); $0.replaced = Int32(replaced); $0.gallerySize = Int64(gallery.count)
                $0.servedBy = Self.servedBy(served)
            }
        }
    }

    func removeFromGallery(_ r: Visionfleet_V1_RemoveFromGalleryRequest) async throws -> Visionfleet_V1_RemoveFromGalleryResponse {
        guard !r.itemIds.isEmpty else { throw ServeError.invalidArgument(item: "request", field: "item_ids", message: "no ids") }
        return try await withModel(r.model, task: .retrieval) { served in
            guard let gallery = served.gallery else { throw ServeError.failedPrecondition("model '\(served.name)' has no gallery") }
            let missing = try gallery.remove(r.itemIds)
            return .with {
                $0.removed = Int32(r.itemIds.count - missing.count); $0.notFound = missing; $0.gallerySize = Int64(gallery.count)
            }
        }
    }
}
