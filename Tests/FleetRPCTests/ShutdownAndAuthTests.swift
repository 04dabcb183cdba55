import FleetProtos
import FleetRPC
import Foundation
import ServiceRuntime
import XCTest

final class ShutdownAndAuthTests: XCTestCase {
    func testShutdownWithAStuckHandlerEndsAfterTheGracePeriod() async throws {
        let probe = ProbeService()
        let t = try await TestServer.start(services: [probe])
        let call = Task {
            try await t.client.unary(ProbeService.stuck, EchoRequest(), as: EchoResponse.self)
        }
        try await waitUntil { probe.stuckStarted.load(ordering: .relaxed) }
        let clock = ContinuousClock()
        let start = clock.now
        await t.server.shutdown(grace: .milliseconds(500))
        let took = clock.now - start
        XCTAssertGreaterThanOrEqual(took, .milliseconds(450))
        XCTAssertLessThan(took, .milliseconds(2500), "shutdown took \(took)")
        do {
            _ = try await call.value
            XCTFail("expected the stuck call to fail")
        } catch let error as RPCError {
            XCTAssertTrue([.cancelled, .unavailable].contains(error.code), "\(error)")
        }
    }

    func testGracefulShutdownLetsRunningCallsFinish() async throws {
        let t = try await TestServer.start()
        let call = Task {
            try await t.client.unary(Echo.unary.path, EchoRequest.with {
                $0.text = "slow"
                $0.delayMs = 300
            }, as: EchoResponse.self)
        }
        try await Task.sleep(for: .milliseconds(100))
        await t.server.shutdown(grace: .seconds(5))
        let response = try await call.value
        XCTAssertEqual(response.text, "slow")
        // A new call after shutdown fails.
        do {
            _ = try await t.client.unary(Echo.unary.path, EchoRequest(), as: EchoResponse.self,
                                         options: CallOptions(timeout: .seconds(2)))
            XCTFail("expected a failure")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .unavailable)
        }
    }

    func testAuthTokenInterceptor() async throws {
        let t = try await TestServer.start(interceptors: [LoggingInterceptor(), AuthTokenInterceptor(tokens: ["s3cret"])])
        func call(_ metadata: Metadata) async throws -> String {
            try await t.client.unary(Echo.unary.path, EchoRequest.with { $0.text = "in" }, as: EchoResponse.self,
                                     options: CallOptions(metadata: metadata)).text
        }
        do {
            _ = try await call([:])
            XCTFail("expected UNAUTHENTICATED")
        } catch let error as RPCError { XCTAssertEqual(error.code, .unauthenticated) }
        do {
            _ = try await call(["authorization": "Bearer wrong"])
            XCTFail("expected PERMISSION_DENIED")
        } catch let error as RPCError { XCTAssertEqual(error.code, .permissionDenied) }
        let text = try await call(["authorization": "Bearer s3cret"])
        XCTAssertEqual(text, "in")
        // Health checks stay open for probes.
        let status = try await HealthProbe.check(t.client)
        XCTAssertEqual(status, .serving)
        await t.stop()
    }

    func testBindingATakenPortFails() async throws {
        let t = try await TestServer.start()
        let second = RPCServer(config: ServerConfig(host: "127.0.0.1", port: t.port), services: [EchoService()])
        do {
            try await second.start()
            XCTFail("expected a bind failure")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .unavailable)
            XCTAssertTrue(error.message.contains("\(t.port)"), error.message)
        }
        await t.stop()
    }
}
