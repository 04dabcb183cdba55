import TestSupport
import FleetProtos
import FleetRPC
import InferenceService
import ServiceRuntime
import SwiftProtobuf
import XCTest

final class StubServersTests: XCTestCase {
    func testEachServiceAnswersHealthAndUnimplemented() async throws {
        let cases: [(any RPCService, String)] = [
            (VisionRPCService(), ServiceCatalog.VisionService.classify.path),
        ]
        for (service, method) in cases {
            let t = try await TestServer.start(services: [service])
            let whole = try await HealthProbe.check(t.client)
            XCTAssertEqual(whole, .serving)
            let named = try await HealthProbe.check(t.client, service: service.serviceName)
            XCTAssertEqual(named, .serving, service.serviceName)
            do {
                _ = try await t.client.unary(method, Google_Protobuf_Empty(), as: Google_Protobuf_Empty.self)
                XCTFail("expected UNIMPLEMENTED from \(method)")
            } catch let error as RPCError {
                XCTAssertEqual(error.code, .unimplemented, method)
            }
            t.server.setServing(service.serviceName, false)
            let down = try await HealthProbe.check(t.client, service: service.serviceName)
            XCTAssertEqual(down, .notServing)
            await t.stop()
        }
    }

    func testInferenceProtocolLivenessAndMetadata() async throws {
        let t = try await TestServer.start(services: [InferenceProtocolService()])
        let live = try await t.client.unary(ServiceCatalog.GRPCInferenceService.serverLive.path,
                                            Inference_ServerLiveRequest(), as: Inference_ServerLiveResponse.self)
        XCTAssertTrue(live.live)
        let meta = try await t.client.unary(ServiceCatalog.GRPCInferenceService.serverMetadata.path,
                                            Inference_ServerMetadataRequest(), as: Inference_ServerMetadataResponse.self)
        XCTAssertEqual(meta.name, "visionfleet")
        await t.stop()
    }

    /// Starts the real vf-serve executable, checks health with `vf health`, stops it with SIGTERM.
    func testExecutableStartsAnswersHealthAndStopsOnSIGTERM() async throws {
        let bin = Repo.root.appendingPathComponent(".build/debug")
        let serve = bin.appendingPathComponent("vf-serve").path
        let vf = bin.appendingPathComponent("vf").path
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: serve) && FileManager.default.isExecutableFile(atPath: vf),
                          "debug executables not built")
        let port = 20000 + Int.random(in: 0..<20000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: serve)
        process.arguments = ["--host", "127.0.0.1"]
        process.environment = ProcessInfo.processInfo.environment.merging(["VF_SERVE_PORT": "\(port)", "VF_SERVE_METRICS_PORT": "0", "VF_SERVE_HTTP_PORT": "0",
                                                                                     "VISIONFLEET_HOME": NSTemporaryDirectory() + "vf-serve-\(port)"]) { $1 }
        process.standardError = FileHandle.nullDevice
        try process.run()
        let health = try runProcess(vf, ["health", "--timeout", "10", "127.0.0.1:\(port)"])
        XCTAssertEqual(health.status, 0, health.stdout + health.stderr)
        XCTAssertTrue(health.stdout.contains("serving"), health.stdout)
        process.terminate()  // SIGTERM
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 0)
    }
}
