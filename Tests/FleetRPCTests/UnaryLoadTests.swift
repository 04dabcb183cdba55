import FleetProtos
import FleetRPC
import Foundation
import XCTest

/// The shim's C++ closed-loop load generator (`UnaryLoad`, used by `vf bench serve`) against a
/// real server: every call answered is timed, failures are counted, nothing is left in flight.
final class UnaryLoadTests: XCTestCase {
    func testKeepsCallsInFlightAndTimesEachOne() async throws {
        let t = try await TestServer.start()
        let channel = try RPCChannel(target: "127.0.0.1:\(t.port)")
        let request = try EchoRequest.with { $0.text = "load"; $0.payload = Data(repeating: 7, count: 12_288) }.serializedData()
        let result = try await UnaryLoad.run(on: channel, method: Echo.unary.path, request: request, concurrency: 8, seconds: 0.5)
        XCTAssertEqual(result.failed, 0)
        XCTAssertGreaterThan(result.completed, 8, "a closed loop re-issues each call")
        XCTAssertEqual(result.latenciesMs.count, result.completed)
        XCTAssertTrue(result.latenciesMs.allSatisfy { $0 > 0 && $0 < 5_000 })
        // The server still answers normal calls afterwards.
        let echo = try await t.client.unary(Echo.unary.path, EchoRequest.with { $0.text = "after" }, as: EchoResponse.self)
        XCTAssertEqual(echo.text, "after")
        await t.stop()
    }

    func testCountsFailedCalls() async throws {
        let t = try await TestServer.start()
        let channel = try RPCChannel(target: "127.0.0.1:\(t.port)")
        let result = try await UnaryLoad.run(on: channel, method: "/visionfleet.v1.NoSuchService/Nothing", request: Data(), concurrency: 2, seconds: 0.2)
        XCTAssertEqual(result.completed, 0)
        XCTAssertGreaterThan(result.failed, 0)
        XCTAssertTrue(result.latenciesMs.isEmpty)
        await t.stop()
    }

    func testCountsFailuresWhenNothingListens() async throws {
        let probe = try await TestServer.start()
        let port = probe.port
        await probe.stop()
        let channel = try RPCChannel(target: "127.0.0.1:\(port)")
        let result = try await UnaryLoad.run(on: channel, method: Echo.unary.path, request: Data(), concurrency: 4, seconds: 0.3)
        XCTAssertEqual(result.completed, 0)
        XCTAssertGreaterThan(result.failed, 0)
    }

    func testRefusesBadArguments() async throws {
        let channel = try RPCChannel(target: "127.0.0.1:1")
        do {
            _ = try await UnaryLoad.run(on: channel, method: "/a/b", request: Data(), concurrency: 0, seconds: 1)
            XCTFail("concurrency 0 accepted")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .invalidArgument)
        }
    }
}
