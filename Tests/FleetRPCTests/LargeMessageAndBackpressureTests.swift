import FleetRPC
import Foundation
import XCTest

final class LargeMessageAndBackpressureTests: XCTestCase {
    func testThirtyTwoMebibyteMessageRoundTrip() async throws {
        let t = try await TestServer.start()
        var payload = Data(count: 32 << 20)
        payload.withUnsafeMutableBytes { raw in
            for i in stride(from: 0, to: raw.count, by: 4096) { raw[i] = UInt8(truncatingIfNeeded: i / 4096) }
        }
        let response = try await t.client.unary(Echo.unary.path, EchoRequest.with { $0.payload = payload },
                                                as: EchoResponse.self)
        XCTAssertEqual(response.payload.count, payload.count)
        XCTAssertEqual(response.payload, payload)
        await t.stop()
    }

    func testMessageOverTheReceiveLimitIsResourceExhausted() async throws {
        let t = try await TestServer.start(config: ServerConfig(host: "127.0.0.1", port: 0, maxReceiveBytes: 1 << 20))
        do {
            _ = try await t.client.unary(Echo.unary.path, EchoRequest.with { $0.payload = Data(count: 2 << 20) },
                                         as: EchoResponse.self)
            XCTFail("expected an error")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .resourceExhausted)
        }
        await t.stop()
    }

    /// A server stream of 100,000 1 KiB messages to a reader that reads slowly: the writer must
    /// be held back (bounded lead over the reader) and memory must stay bounded.
    func testSlowReaderHoldsBackAFastWriter() async throws {
        let probe = ProbeService()
        let t = try await TestServer.start(services: [probe])
        let baseline = residentBytes()
        let total = 100_000
        let (maxLead, peakGrowth) = try await t.client.serverStreaming(
            ProbeService.endless, EchoRequest.with { $0.count = 1024 }, as: EchoResponse.self
        ) { stream in
            var read = 0
            var maxLead = 0
            var peak = 0
            for try await message in stream {
                XCTAssertEqual(message.payload.count, 1024)
                read += 1
                if read % 100 == 0 {
                    try await Task.sleep(for: .milliseconds(1))  // the slow reader
                    maxLead = max(maxLead, probe.written.load(ordering: .relaxed) - read)
                    peak = max(peak, residentBytes() - baseline)
                }
                if read == total { break }
            }
            return (maxLead, peak)
        }
        // Without backpressure the writer would be ~100,000 messages (100 MiB) ahead.
        XCTAssertLessThan(maxLead, 16_384, "writer ran \(maxLead) messages ahead of the reader")
        XCTAssertLessThan(peakGrowth, 48 << 20, "resident memory grew by \(peakGrowth >> 20) MiB")
        print("backpressure: max lead \(maxLead) messages, peak RSS growth \(peakGrowth >> 20) MiB")
        await t.stop()
    }
}
