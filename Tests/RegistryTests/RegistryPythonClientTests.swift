import Foundation
import TestSupport
import XCTest

/// Python grpcio, with stubs generated from Protos/ by grpc_tools in the test venv, against a
/// real vf-registry: upload, alias resolution, download with digests, events, errors.
final class RegistryPythonClientTests: XCTestCase {
    func testGrpcioClientUploadsAndResolvesAnAlias() async throws {
        let h = try await RegistryHarness.start()
        let package = try TestPackage.make(weightsBytes: 700_000)
        let result = await runPythonChecks("Tests/RegistryTests/Python/registry_client.py",
                                           [Repo.path("Protos"), "\(h.port)", package.directory.path])
        await h.stop()
        let checks = try result.get()
        let expected = ["upload", "resolve_alias", "download", "watch_events", "bad_upload_invalid_argument", "not_found"]
        XCTAssertEqual(Set(checks.keys), Set(expected))
        for name in expected { XCTAssertEqual(checks[name], true, "python check \(name) failed") }
    }
}
