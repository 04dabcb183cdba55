import FleetProtos
import FleetRPC
import Foundation
import IngestService
import ServiceRuntime
import TestSupport
import XCTest

/// vf-ingest asks vf-registry before deleting a dataset: a dataset a registered model version
/// was trained on stays (FAILED_PRECONDITION); with the registry down nothing is deleted.
final class DatasetLineageTests: XCTestCase {
    func testDeleteIsRefusedWhileAModelsLineageNamesTheDataset() async throws {
        let registry = try await RegistryHarness.start()
        let lookupClient = registry.client
        let ingest = try DatasetIngest(directory: FileManager.default.temporaryDirectory.appendingPathComponent("vf-lineage-\(UUID().uuidString)"),
                                       lineage: { try await lookupClient.versionsTrained(on: $0) })
        let server = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0), services: [DatasetRPCService(ingest: ingest)])
        let port = try await server.start()
        let datasets = try DatasetClient(address: "127.0.0.1:\(port)", environment: [:])
        _ = try await datasets.generateSynthetic(name: "shapes", count: 4, imageSize: 32)
        _ = try await datasets.generateSynthetic(name: "spare", count: 4, imageSize: 32, seed: 1)
        // TestPackage's lineage is shapes@3.
        let package = try TestPackage.make()
        _ = try await registry.client.upload(directory: package.directory, model: "detector")

        let refused = await assertRPCError(.failedPrecondition) { try await datasets.deleteDataset("shapes") }
        XCTAssertTrue(refused?.message.contains("detector@1") == true, refused?.message ?? "")
        _ = try await datasets.dataset("shapes")
        try await datasets.deleteDataset("spare")

        try await registry.client.deleteVersion(ref("detector", 1))
        try await datasets.deleteDataset("shapes")
        await assertRPCError(.notFound) { try await datasets.dataset("shapes") }

        _ = try await datasets.generateSynthetic(name: "later", count: 2, imageSize: 32)
        await registry.stop()
        await assertRPCError(.unavailable) { try await datasets.deleteDataset("later") }
        _ = try await datasets.dataset("later")
        await server.shutdown(grace: .seconds(1))
    }
}
