import FleetRPC
import Foundation
import XCTest

final class CancellationTests: XCTestCase {
    func testConsumerThatStopsIteratingCancelsTheCall() async throws {
        let probe = ProbeService()
        let t = try await TestServer.start(services: [probe])
        let got = try await t.client.serverStreaming(ProbeService.endless, EchoRequest.with { $0.count = 16 },
                                                     as: EchoResponse.self) { stream in
            var n = 0
            for try await _ in stream {
                n += 1
                if n == 5 { break }
            }
            return n
        }
        XCTAssertEqual(got, 5)
        // The endless server handler learns of the cancel through a failing write.
        try await waitUntil { probe.sawCancel.load(ordering: .relaxed) }
        await t.stop()
    }

    func testCancellingTheClientTaskCancelsTheCall() async throws {
        let probe = ProbeService()
        let t = try await TestServer.start(services: [probe])
        let task = Task {
            try await t.client.unary(ProbeService.waitForCancel, EchoRequest(), as: EchoResponse.self)
        }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("expected an error")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .cancelled)
        }
        try await waitUntil { probe.sawCancel.load(ordering: .relaxed) }
        await t.stop()
    }

    func testCancellingAStreamingClientTask() async throws {
        let probe = ProbeService()
        let t = try await TestServer.start(services: [probe])
        let task = Task {
            try await t.client.serverStreaming(ProbeService.endless, EchoRequest.with { $0.count = 8 },
                                               as: EchoResponse.self) { stream in
                var n = 0
                for try await _ in stream { n += 1 }
                return n
            }
        }
        try await waitUntil { probe.written.load(ordering: .relaxed) > 100 }
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("expected an error")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .cancelled)
        }
        try await waitUntil { probe.sawCancel.load(ordering: .relaxed) }
        await t.stop()
    }
}
