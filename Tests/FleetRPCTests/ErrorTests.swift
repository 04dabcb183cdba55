import FleetProtos
import FleetRPC
import Foundation
import ServiceRuntime
import SwiftProtobuf
import XCTest

final class ErrorTests: XCTestCase {
    func testErrorCarriesCodeMessageTrailersAndDetails() async throws {
        let t = try await TestServer.start()
        do {
            _ = try await t.client.unary(Echo.unary.path, EchoRequest.with {
                $0.text = "boom"
                $0.failWithCode = Int32(RPCError.Code.failedPrecondition.rawValue)
            }, as: EchoResponse.self)
            XCTFail("expected an error")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .failedPrecondition)
            XCTAssertEqual(error.message, "echo failure requested for 'boom'")
            XCTAssertEqual(error.metadata["echo-detail"], "requested failure")
            XCTAssertEqual(error.details, Array("detail:boom".utf8))
        }
        await t.stop()
    }

    func testErrorInsideServerStreamAfterMessages() async throws {
        let t = try await TestServer.start()
        var received = 0
        do {
            try await t.client.bidirectional(Echo.bidi.path, as: EchoResponse.self) { (writer: ClientRequestWriter<EchoRequest>) in
                try await writer.write(EchoRequest.with { $0.text = "ok" })
                try await writer.write(EchoRequest.with { $0.failWithCode = Int32(RPCError.Code.resourceExhausted.rawValue) })
            } responses: { stream in
                for try await _ in stream { received += 1 }
            }
            XCTFail("expected an error")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .resourceExhausted)
        }
        XCTAssertEqual(received, 1)
        await t.stop()
    }

    func testUnknownMethodIsUnimplemented() async throws {
        let t = try await TestServer.start()
        do {
            _ = try await t.client.unary("/visionfleet.v1.EchoService/NoSuchMethod", EchoRequest(), as: EchoResponse.self)
            XCTFail("expected an error")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .unimplemented)
            XCTAssertTrue(error.message.contains("NoSuchMethod"), error.message)
        }
        await t.stop()
    }

    func testMalformedRequestIsInvalidArgument() async throws {
        let t = try await TestServer.start()
        // Field 1 of EchoRequest is a string: invalid UTF-8 there is a malformed message.
        let bogus = Google_Protobuf_BytesValue.with { $0.value = Data([0xFF, 0xFE, 0xFD]) }
        do {
            _ = try await t.client.unary(Echo.unary.path, bogus, as: EchoResponse.self)
            XCTFail("expected an error")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .invalidArgument)
            XCTAssertTrue(error.message.contains("visionfleet.v1.EchoRequest"), error.message)
        }
        // The server is unharmed.
        let ok = try await t.client.unary(Echo.unary.path, EchoRequest.with { $0.text = "still here" }, as: EchoResponse.self)
        XCTAssertEqual(ok.text, "still here")
        await t.stop()
    }

    func testDeadlineExceeded() async throws {
        let probe = ProbeService()
        let t = try await TestServer.start(services: [EchoService(), probe])
        let clock = ContinuousClock()
        let start = clock.now
        do {
            _ = try await t.client.unary(Echo.unary.path, EchoRequest.with { $0.delayMs = 5000 }, as: EchoResponse.self,
                                         options: CallOptions(timeout: .milliseconds(200)))
            XCTFail("expected an error")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .deadlineExceeded)
        }
        XCTAssertLessThan(clock.now - start, .seconds(2))

        // The server side sees the expired deadline as a cancellation.
        do {
            _ = try await t.client.unary(ProbeService.waitForCancel, EchoRequest(), as: EchoResponse.self,
                                         options: CallOptions(timeout: .milliseconds(100)))
            XCTFail("expected an error")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .deadlineExceeded)
        }
        try await waitUntil { probe.sawCancel.load(ordering: .relaxed) }
        await t.stop()
    }

    func testServerCancelsCall() async throws {
        let t = try await TestServer.start()
        do {
            _ = try await t.client.unary(Echo.unary.path, EchoRequest.with {
                $0.failWithCode = Int32(RPCError.Code.cancelled.rawValue)
            }, as: EchoResponse.self)
            XCTFail("expected an error")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .cancelled)
        }
        await t.stop()
    }

    func testUnreachableServerIsUnavailable() async throws {
        let client = RPCClient(channel: try RPCChannel(target: "127.0.0.1:1"))
        do {
            _ = try await client.unary(Echo.unary.path, EchoRequest(), as: EchoResponse.self,
                                       options: CallOptions(timeout: .seconds(5)))
            XCTFail("expected an error")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .unavailable)
        }
    }
}

/// Polls `condition` until it holds (fails the test after `timeout`).
func waitUntil(timeout: Duration = .seconds(5), _ condition: () -> Bool,
               file: StaticString = #filePath, line: UInt = #line) async throws {
    let clock = ContinuousClock()
    let end = clock.now + timeout
    while !condition() {
        if clock.now > end {
            XCTFail("condition not met within \(timeout)", file: file, line: line)
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}
