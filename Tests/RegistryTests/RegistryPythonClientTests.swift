import Foundation
import TestSupport
import XCTest

/// Python grpcio, with stubs generated from Protos/ by grpc_tools in the test venv, against a
/// real vf-registry: upload, alias resolution, download with digests, events, errors.
final class RegistryPythonClientTests: XCTestCase {
    func testGrpcioClientUploadsAndResolvesAnAlias() async throws {
        let h = try await RegistryHarness.start()
        let package = try TestPackage.make(weightsBytes: 700_000)
        let python = PythonVenv.python
        let port = h.port
        let directory = package.directory.path
        let result = await Task.detached {
            try? runProcess(python, [Repo.path("Tests/RegistryTests/Python/registry_client.py"), Repo.path("Protos"), "\(port)",
                                     directory])
        }.value
        await h.stop()
        let output = try XCTUnwrap(result, "could not run \(python)")
        XCTAssertEqual(output.status, 0, output.stderr)
        let line = output.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let checks = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Bool], output.stdout + output.stderr)
        let expected = ["upload", "resolve_alias", "download", "watch_events", "bad_upload_invalid_argument", "not_found"]
        XCTAssertEqual(Set(checks.keys), Set(expected))
        for name in expected { XCTAssertEqual(checks[name], true, "python check \(name) failed") }
    }
}
