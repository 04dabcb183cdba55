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
        let python = PythonVenv.python
        let port = h.port
        let path = folder.path
        let result = await Task.detached {
            try? runProcess(python, [Repo.path("Tests/IngestTests/Python/ingest_client.py"), Repo.path("Protos"), "\(port)", path])
        }.value
        await h.stop()
        let output = try XCTUnwrap(result, "could not run \(python)")
        XCTAssertEqual(output.status, 0, output.stderr)
        let line = output.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let checks = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Bool], output.stdout + output.stderr)
        let expected = ["import", "version", "items", "samples", "bad_import_invalid_argument"]
        XCTAssertEqual(Set(checks.keys), Set(expected))
        for name in expected { XCTAssertEqual(checks[name], true, "python check \(name) failed") }
    }
}
