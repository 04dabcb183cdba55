import TestSupport
import Foundation
import XCTest

/// Our Protos/inference must match Triton's field numbers exactly, or tritonclient breaks.
final class TritonProtoTests: XCTestCase {
    func testInferenceProtoMatchesTritonclientDescriptors() throws {
        let descriptorSet = FileManager.default.temporaryDirectory.appendingPathComponent("vf-inference-\(UUID().uuidString).pb").path
        let protoc = try runProcess("/usr/bin/protoc", [
            "-I", Repo.path("Protos"), "--include_imports", "--descriptor_set_out=\(descriptorSet)",
            Repo.path("Protos/inference/grpc_service.proto"),
        ])
        XCTAssertEqual(protoc.status, 0, protoc.stderr)
        let check = try runProcess(PythonVenv.python, [Repo.path("Tests/FleetRPCTests/Python/check_triton_proto.py"), descriptorSet])
        XCTAssertEqual(check.status, 0, check.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [String: Any], check.stdout)
        let problems = report["problems"] as? [String] ?? ["no report"]
        XCTAssertEqual(problems, [], problems.joined(separator: "\n"))
        let checked = report["checked"] as? [String: Int] ?? [:]
        XCTAssertGreaterThan(checked["messages"] ?? 0, 50)
        XCTAssertGreaterThanOrEqual(checked["rpcs"] ?? 0, 12)
    }
}
