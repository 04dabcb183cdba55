import FleetProtos
import FleetRPC
import Foundation
import RegistryService
import ServiceRuntime
import TestSupport
import XCTest

/// Models and versions over the real RPC path: create, get, list with pages and a task filter,
/// update, delete rules, and a version's round trip with every field.
final class RegistryModelTests: XCTestCase {
    func testModelsCreateGetListUpdateDelete() async throws {
        let h = try await RegistryHarness.start()
        defer { Task { await h.stop() } }
        for (i, name) in ["alpha", "bravo", "charlie", "delta", "echo"].enumerated() {
            let model = try await h.client.createModel(name, task: i % 2 == 0 ? .classification : .detection, description: "d\(i)",
                                                       tags: ["team": "cv"])
            XCTAssertEqual(model.name, name)
            XCTAssertEqual(model.audit.createdBy, "anonymous")
        }
        await assertRPCError(.alreadyExists) { try await h.client.createModel("alpha", task: .classification) }
        await assertRPCError(.invalidArgument) { try await h.client.createModel("bad name!", task: .classification) }
        await assertRPCError(.invalidArgument) { try await h.client.createModel("notask", task: .unspecified) }
        await assertRPCError(.notFound) { try await h.client.model("zulu") }

        // Pages of two, in name order, with the total on each page.
        var token = ""
        var seen: [String] = []
        repeat {
            let page: Visionfleet_V1_ListModelsResponse = try await h.client.rpc.unary(
                ServiceCatalog.RegistryService.listModels.path,
                Visionfleet_V1_ListModelsRequest.with { $0.page.pageSize = 2; $0.page.pageToken = token })
            XCTAssertEqual(page.page.totalCount, 5)
            XCTAssertLessThanOrEqual(page.models.count, 2)
            seen += page.models.map(\.name)
            token = page.page.nextPageToken
        } while !token.isEmpty
        XCTAssertEqual(seen, ["alpha", "bravo", "charlie", "delta", "echo"])
        let detectors = try await h.client.listModels(task: .detection)
        XCTAssertEqual(detectors.map(\.name), ["bravo", "delta"])
        await assertRPCError(.invalidArgument) {
            let _: Visionfleet_V1_ListModelsResponse = try await h.client.rpc.unary(
                ServiceCatalog.RegistryService.listModels.path, Visionfleet_V1_ListModelsRequest.with { $0.page.pageToken = "%%%" })
        }

        let updated: Visionfleet_V1_Model = try await h.client.rpc.unary(
            ServiceCatalog.RegistryService.updateModel.path, Visionfleet_V1_UpdateModelRequest.with {
                $0.name = "alpha"; $0.description_p = "new"; $0.setTags = ["stage": "beta"]; $0.removeTags = ["team"]
            })
        XCTAssertEqual(updated.description_p, "new")
        XCTAssertEqual(updated.tags, ["stage": "beta"])
        let untouched: Visionfleet_V1_Model = try await h.client.rpc.unary(
            ServiceCatalog.RegistryService.updateModel.path, Visionfleet_V1_UpdateModelRequest.with { $0.name = "alpha" })
        XCTAssertEqual(untouched.description_p, "new", "an unset description is left as it is")

        try await h.client.deleteModel("echo")
        await assertRPCError(.notFound) { try await h.client.model("echo") }
        await assertRPCError(.notFound) { try await h.client.deleteModel("echo") }
    }

    func testVersionRecordAndDeleteRules() async throws {
        let h = try await RegistryHarness.start()
        defer { Task { await h.stop() } }
        let package = try TestPackage.make(extra: ["gallery.index": TestPackage.randomData(1000, seed: 9)])
        let v1 = try await h.client.upload(directory: package.directory, model: "shapes", aliases: ["production"], description: "first",
                                           tags: ["k": "v"])
        XCTAssertEqual(v1.version, 1)
        XCTAssertEqual(v1.task, .classification)
        XCTAssertEqual(v1.files.map(\.path), ["manifest.json", "gallery.index", "weights.safetensors"])
        XCTAssertEqual(v1.aliases, ["production"])
        XCTAssertEqual(v1.metrics.map(\.name), ["top1"], "metrics default to the manifest's")
        XCTAssertEqual(v1.lineage.dataset.name, "shapes")
        XCTAssertEqual(v1.lineage.dataset.version, 3)
        XCTAssertEqual(v1.lineage.jobID, "job-1")
        XCTAssertEqual(v1.totalSize, v1.files.reduce(0) { $0 + $1.size })
        XCTAssertEqual(v1.manifestJson, package.manifest)
        let model = try await h.client.model("shapes")
        XCTAssertEqual(model.task, .classification, "the upload created the model with the manifest's task")
        XCTAssertEqual(model.latestVersion, 1)
        XCTAssertEqual(model.aliases, ["production": 1])

        let v2 = try await h.client.upload(directory: try TestPackage.make(seed: 2).directory, model: "shapes")
        XCTAssertEqual(v2.version, 2)
        let byAlias = try await h.client.version(ref("shapes", alias: "production"))
        XCTAssertEqual(byAlias.version, 1)
        XCTAssertEqual(byAlias.description_p, "first")
        let latest = try await h.client.version(ref("shapes", alias: "latest"))
        XCTAssertEqual(latest.version, 2)
        await assertRPCError(.notFound) { try await h.client.version(ref("shapes", 9)) }
        await assertRPCError(.notFound) { try await h.client.version(ref("shapes", alias: "staging")) }
        await assertRPCError(.notFound) { try await h.client.version(ref("nope", 1)) }
        // A detection package cannot become a version of a classification model.
        await assertRPCError(.invalidArgument) {
            try await h.client.upload(directory: try TestPackage.make(task: "detection").directory, model: "shapes")
        }

        let edited: Visionfleet_V1_ModelVersion = try await h.client.rpc.unary(
            ServiceCatalog.RegistryService.updateModelVersion.path, Visionfleet_V1_UpdateModelVersionRequest.with {
                $0.ref = ref("shapes", 2); $0.description_p = "second"; $0.setTags = ["x": "1"]
            })
        XCTAssertEqual(edited.description_p, "second")
        XCTAssertEqual(edited.tags, ["x": "1"])

        // Aliases protect what they point at.
        await assertRPCError(.failedPrecondition) { try await h.client.deleteVersion(ref("shapes", 1)) }
        await assertRPCError(.failedPrecondition) { try await h.client.deleteModel("shapes") }
        try await h.client.deleteVersion(ref("shapes", 2))
        await assertRPCError(.notFound) { try await h.client.version(ref("shapes", 2)) }
        // Numbers are never reused: the next upload is version 3.
        let v3 = try await h.client.upload(directory: try TestPackage.make(seed: 3).directory, model: "shapes")
        XCTAssertEqual(v3.version, 3)
        let versions = try await h.client.listVersions("shapes", pageSize: 1)
        XCTAssertEqual(versions.map(\.version), [1, 3])
        _ = try await h.client.deleteAlias("shapes", "production")
        try await h.client.deleteModel("shapes")
        await assertRPCError(.notFound) { try await h.client.listVersions("shapes") }
    }
}
