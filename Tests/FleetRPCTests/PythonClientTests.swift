import TestSupport
import FleetRPC
import Foundation
import ServiceRuntime
import XCTest

/// A real outside client (Python grpcio from the test venv) against a Swift server.
final class PythonClientTests: XCTestCase {
    func testGrpcioCallsEveryKindAndSeesHealth() async throws {
        let t = try await TestServer.start(services: [EchoService(), ProbeService()])
        t.server.setServing(ProbeService.name, false)
        let python = PythonVenv.python
        let port = t.port
        let result = await Task.detached {
            try? runProcess(python, [Repo.path("Tests/FleetRPCTests/Python/grpc_client.py"), "\(port)", ProbeService.name])
        }.value
        await t.stop()
        let output = try XCTUnwrap(result, "could not run \(python)")
        XCTAssertEqual(output.status, 0, output.stderr)
        let line = output.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let checks = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Bool], output.stdout)
        let expected = ["unary", "server_stream", "client_stream", "bidi", "error_status", "unimplemented",
                        "health_serving", "health_not_serving", "health_watch"]
        XCTAssertEqual(Set(checks.keys), Set(expected))
        for name in expected { XCTAssertEqual(checks[name], true, "python check \(name) failed") }
    }
}
