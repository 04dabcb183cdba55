import FleetProtos
import FleetRPC
import Foundation
@testable import InferenceService
import ServiceRuntime
import TestSupport
import VisionData
import XCTest

/// The task API (`visionfleet.v1.VisionService`) on served classification and retrieval models.
final class TaskAPITests: XCTestCase {
    typealias Methods = ServiceCatalog.VisionService

    func testClassifyOneOrManyImagesAndBadInput() async throws {
        let h = try await ServeHarness.start(models: ["shapes@production"], batching: BatchingConfig(maxBatchSize: 4))
        _ = try await h.registryClient.upload(directory: try ServePackages.classifier(), model: "shapes", aliases: ["production"])
        try await h.waitServing("shapes")
        // Any size: resized to 32×32; gray is converted to RGB.
        let image = try ServePackages.png(width: 50, height: 40, seed: 1)
        let gray = try ServePackages.png(width: 20, height: 20, channels: 1, seed: 2)
        let one: Visionfleet_V1_ClassifyResponse = try await h.call(Methods.classify, Visionfleet_V1_ClassifyRequest.with {
            $0.model = .with { $0.name = "shapes"; $0.alias = "production" }
            $0.image.encoded = image
            $0.topK = 2
            $0.requestID = "q1"
        })
        XCTAssertEqual(one.classes.count, 2)
        XCTAssertGreaterThanOrEqual(one.classes[0].score, one.classes[1].score)
        XCTAssertTrue(ServePackages.classNames.contains(one.classes[0].label))
        XCTAssertEqual(one.servedBy.version, 1)
        XCTAssertEqual(one.servedBy.alias, "production")
        XCTAssertEqual(one.requestID, "q1")
        let many: Visionfleet_V1_ClassifyResponse = try await h.call(Methods.classify, Visionfleet_V1_ClassifyRequest.with {
            $0.model.name = "shapes"
            $0.images = [image, gray, image].map { data in .with { $0.encoded = data } }
        })
        XCTAssertEqual(many.results.count, 3)
        XCTAssertEqual(many.results[0].classes.count, 3)
        XCTAssertEqual(many.results[0].classes.map(\.classID), one.classes.map(\.classID) + [many.results[0].classes[2].classID])
        for (a, b) in zip(many.results[0].classes, many.results[2].classes) { XCTAssertEqual(a.score, b.score, accuracy: 1e-5) }

        // Bad input: the item and field named, the right status.
        await assertRPCError(.invalidArgument, field: "encoded", item: "images[1]") {
            let _: Visionfleet_V1_ClassifyResponse = try await h.call(Methods.classify, Visionfleet_V1_ClassifyRequest.with {
                $0.model.name = "shapes"
                $0.images = [.with { $0.encoded = image }, .with { $0.encoded = Data("not a png".utf8) }]
            })
        }
        await assertRPCError(.invalidArgument, field: "image") {
            let _: Visionfleet_V1_ClassifyResponse = try await h.call(Methods.classify, Visionfleet_V1_ClassifyRequest.with { $0.model.name = "shapes" })
        }
        await assertRPCError(.invalidArgument, field: "images") {
            let _: Visionfleet_V1_ClassifyResponse = try await h.call(Methods.classify, Visionfleet_V1_ClassifyRequest.with {
                $0.model.name = "shapes"
                $0.images = Array(repeating: .with { $0.encoded = image }, count: 5)
            })
        }
        await assertRPCError(.notFound) {
            let _: Visionfleet_V1_ClassifyResponse = try await h.call(Methods.classify, Visionfleet_V1_ClassifyRequest.with {
                $0.model.name = "nope"; $0.image.encoded = image
            })
        }
        await assertRPCError(.notFound) {
            let _: Visionfleet_V1_ClassifyResponse = try await h.call(Methods.classify, Visionfleet_V1_ClassifyRequest.with {
                $0.model = .with { $0.name = "shapes"; $0.version = 7 }; $0.image.encoded = image
            })
        }
        await assertRPCError(.failedPrecondition) {
            let _: Visionfleet_V1_EmbedResponse = try await h.call(Methods.embed, Visionfleet_V1_EmbedRequest.with {
                $0.model.name = "shapes"; $0.image.encoded = image
            })
        }
        // A header claiming 100,000 × 100,000 pixels is refused before decoding.
        var huge = try ServePackages.png(width: 8, height: 8, seed: 3)
        huge.replaceSubrange(16..<24, with: [0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0])
        await assertRPCError(.invalidArgument, field: "encoded", item: "image") {
            let _: Visionfleet_V1_ClassifyResponse = try await h.call(Methods.classify, Visionfleet_V1_ClassifyRequest.with {
                $0.model.name = "shapes"; $0.image.encoded = huge
            })
        }
        // The server is still fine.
        let again: Visionfleet_V1_ClassifyResponse = try await h.call(Methods.classify, Visionfleet_V1_ClassifyRequest.with {
            $0.model.name = "shapes"; $0.image.encoded = image
        })
        XCTAssertEqual(again.classes.count, 3)
        let listed: Visionfleet_V1_ListServedModelsResponse = try await h.call(Methods.listServedModels, Visionfleet_V1_ListServedModelsRequest())
        XCTAssertEqual(listed.models.map(\.name), ["shapes"])
        XCTAssertEqual(listed.models.first?.state, "READY")
        XCTAssertEqual(listed.models.first?.task, .classification)
        await h.stop()
    }

    func testSearchFindsTheDuplicateFirstAndGalleryChangesSurviveARestart() async throws {
        let images = try (0..<12).map { try ServePackages.png(width: 16, height: 16, channels: 1, seed: 100 + UInt64($0)) }
        let package = try ServePackages.retrieval(images: images, labels: (0..<12).map { Int32($0 % 3) })
        let h = try await ServeHarness.start(models: ["faces@production"])
        _ = try await h.registryClient.upload(directory: package, model: "faces", aliases: ["production"])
        try await h.waitServing("faces")
        func search(_ image: Data, k: Int32 = 3, on repository: ModelRepository? = nil) async throws -> [Visionfleet_V1_SearchHit] {
            let request = Visionfleet_V1_SearchRequest.with { $0.model.name = "faces"; $0.image.encoded = image; $0.k = k }
            if let repository { return try await VisionTasks(repository: repository, blobs: nil).search(request, deadline: nil).hits }
            let response: Visionfleet_V1_SearchResponse = try await h.call(Methods.search, request)
            return response.hits
        }
        for i in [0, 5, 11] {
            let hits = try await search(images[i])
            XCTAssertEqual(hits.first?.itemID, "\(i)")
            XCTAssertEqual(hits.first?.score ?? 0, 1, accuracy: 1e-3)
            XCTAssertEqual(hits.first?.label, ServePackages.classNames[i % 3])
            XCTAssertEqual(hits.count, 3)
        }
        // The embedding answers the same search.
        let embedded: Visionfleet_V1_EmbedResponse = try await h.call(Methods.embed, Visionfleet_V1_EmbedRequest.with {
            $0.model.name = "faces"; $0.image.encoded = images[5]
        })
        XCTAssertEqual(embedded.embedding.count, 32)
        XCTAssertEqual(embedded.embedding.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-4)
        let byVector: Visionfleet_V1_SearchResponse = try await h.call(Methods.search, Visionfleet_V1_SearchRequest.with {
            $0.model.name = "faces"; $0.embedding = embedded; $0.k = 1
        })
        XCTAssertEqual(byVector.hits.first?.itemID, "5")
        // Many query images in one request: a result per image, in order.
        let many: Visionfleet_V1_SearchResponse = try await h.call(Methods.search, Visionfleet_V1_SearchRequest.with {
            $0.model.name = "faces"; $0.images = [images[7], images[2]].map { i in .with { $0.encoded = i } }; $0.k = 2
        })
        XCTAssertEqual(many.results.map { $0.hits.first?.itemID }, ["7", "2"])
        XCTAssertTrue(many.hits.isEmpty)
        _ = await assertRPCError(.invalidArgument, item: "request") {
            let _: Visionfleet_V1_SearchResponse = try await h.call(Methods.search, Visionfleet_V1_SearchRequest.with {
                $0.model.name = "faces"; $0.images = [.with { $0.encoded = images[1] }]; $0.image.encoded = images[1]
            })
        }

        // Online changes: a new item, a removal.
        let newcomer = try ServePackages.png(width: 16, height: 16, channels: 1, seed: 999)
        let added: Visionfleet_V1_AddToGalleryResponse = try await h.call(Methods.addToGallery, Visionfleet_V1_AddToGalleryRequest.with {
            $0.model.name = "faces"
            $0.items = [.with { $0.itemID = "new-1"; $0.image.encoded = newcomer; $0.classID = 2; $0.label = "triangle" }]
        })
        XCTAssertEqual(added.added, 1)
        XCTAssertEqual(added.gallerySize, 13)
        let removed: Visionfleet_V1_RemoveFromGalleryResponse = try await h.call(Methods.removeFromGallery, Visionfleet_V1_RemoveFromGalleryRequest.with {
            $0.model.name = "faces"; $0.itemIds = ["3", "missing"]
        })
        XCTAssertEqual(removed.removed, 1)
        XCTAssertEqual(removed.notFound, ["missing"])
        XCTAssertEqual(removed.gallerySize, 12)
        let found = try await search(newcomer)
        XCTAssertEqual(found.first?.itemID, "new-1")
        XCTAssertEqual(found.first?.label, "triangle")
        let afterRemoval = try await search(images[3])
        XCTAssertNotEqual(afterRemoval.first?.itemID, "3")
        await assertRPCError(.invalidArgument, field: "item_id") {
            let _: Visionfleet_V1_AddToGalleryResponse = try await h.call(Methods.addToGallery, Visionfleet_V1_AddToGalleryRequest.with {
                $0.model.name = "faces"; $0.items = [.with { $0.image.encoded = newcomer }]
            })
        }

        // The HNSW graph of the package's rows was written once, beside the change log; a restart
        // reads it instead of building it again.
        let galleries = h.repository.settings.home.appendingPathComponent("galleries/faces")
        let graphs = try FileManager.default.contentsOfDirectory(atPath: galleries.path).filter { $0.hasSuffix(".hnsw") }
        XCTAssertEqual(graphs.count, 1, "\(graphs)")
        let written = try FileManager.default.attributesOfItem(atPath: galleries.appendingPathComponent(graphs[0]).path)[.modificationDate] as? Date
        // A restarted vf-serve (a new repository over the same home) has the changes.
        let restarted = ModelRepository(source: RegistryModelSource(client: h.registryClient), settings: h.repository.settings)
        try await restarted.load(.init(parsing: "faces@production"))
        let (n, r, k) = (try await search(newcomer, on: restarted), try await search(images[3], on: restarted), try await search(images[5], on: restarted))
        XCTAssertEqual(n.first?.itemID, "new-1")
        XCTAssertNotEqual(r.first?.itemID, "3")
        XCTAssertEqual(k.first?.itemID, "5")
        let reread = try FileManager.default.attributesOfItem(atPath: galleries.appendingPathComponent(graphs[0]).path)[.modificationDate] as? Date
        XCTAssertEqual(written, reread, "the cached graph is read, not rebuilt")
        await restarted.shutdown()
        await h.stop()
    }
}
