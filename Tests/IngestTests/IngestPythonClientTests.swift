import Foundation
import TestSupport
import VisionData
import XCTest

/// Python grpcio, with stubs generated from Protos/ by grpc_tools, imports a small dataset
/// into a real vf-ingest and reads it back.
final class IngestPythonClientTests: XCTestCase {
    func testGrpcioClientImportsADataset() async throws {
        let h = try await IngestHarness.start()
        let (folder, _) = try Fixtures.classes(.imagefolder, perClass: 4)
        let result = await runPythonChecks("Tests/IngestTests/Python/ingest_client.py", [Repo.path("Protos"), "\(h.port)", folder.path])
        await h.stop()
        let checks = try result.get()
        let expected = ["import", "version", "items", "samples", "bad_import_invalid_argument"]
        XCTAssertEqual(Set(checks.keys), Set(expected))
        for name in expected { XCTAssertEqual(checks[name], true, "python check \(name) failed") }
    }
}
