import FleetProtos
import FleetRPC
import Foundation
import ServiceRuntime
import XCTest

typealias EchoRequest = Visionfleet_V1_EchoRequest
typealias EchoResponse = Visionfleet_V1_EchoResponse
typealias Echo = ServiceCatalog.EchoService

final class CallKindsTests: XCTestCase {
    func testUnary() async throws {
        let t = try await TestServer.start()
        let response = try await t.client.unary(Echo.unary.path, EchoRequest.with {
            $0.text = "hello"
            $0.payload = Data([1, 2, 3])
        }, as: EchoResponse.self)
        XCTAssertEqual(response.text, "hello")
        XCTAssertEqual(response.payload, Data([1, 2, 3]))
        await t.stop()
    }

    func testManyConcurrentUnaryCalls() async throws {
        let t = try await TestServer.start()
        let texts = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<200 {
                group.addTask {
                    try await t.client.unary(Echo.unary.path, EchoRequest.with { $0.text = "m\(i)" }, as: EchoResponse.self).text
                }
            }
            var all: Set<String> = []
            for try await text in group { all.insert(text) }
            return all
        }
        XCTAssertEqual(texts, Set((0..<200).map { "m\($0)" }))
        await t.stop()
    }

    func testServerStreaming() async throws {
        let t = try await TestServer.start()
        let indices = try await t.client.serverStreaming(Echo.serverStream.path, EchoRequest.with {
            $0.text = "s"
            $0.count = 50
        }, as: EchoResponse.self) { stream in
            var seen: [Int32] = []
            for try await message in stream {
                XCTAssertEqual(message.text, "s")
                seen.append(message.index)
            }
            return seen
        }
        XCTAssertEqual(indices, Array(0..<50))
        await t.stop()
    }

    func testClientStreaming() async throws {
        let t = try await TestServer.start()
        let response = try await t.client.clientStreaming(Echo.clientStream.path, as: EchoResponse.self) {
            (writer: ClientRequestWriter<EchoRequest>) in
            for i in 0..<20 {
                try await writer.write(EchoRequest.with {
                    $0.text = "c\(i)"
                    $0.payload = Data(repeating: 0, count: 10)
                })
            }
        }
        XCTAssertEqual(response.message.index, 20)
        XCTAssertEqual(response.message.text, (0..<20).map { "c\($0)" }.joined(separator: ","))
        XCTAssertEqual(String(decoding: response.message.payload, as: UTF8.self), "200")
        await t.stop()
    }

    func testBidirectional() async throws {
        let t = try await TestServer.start()
        let received = try await t.client.bidirectional(Echo.bidi.path, as: EchoResponse.self) {
            (writer: ClientRequestWriter<EchoRequest>) in
            for i in 0..<30 { try await writer.write(EchoRequest.with { $0.text = "b\(i)" }) }
        } responses: { stream in
            var texts: [String] = []
            for try await message in stream {
                XCTAssertEqual(message.index, Int32(texts.count))
                texts.append(message.text)
            }
            return texts
        }
        XCTAssertEqual(received, (0..<30).map { "b\($0)" })
        await t.stop()
    }

    func testMetadataBothWays() async throws {
        let probe = ProbeService()
        let t = try await TestServer.start(services: [probe])
        var metadata: Metadata = ["x-token": "abc123"]
        metadata.addBinary("x-raw-bin", [0, 255, 7])
        let response = try await t.client.unaryWithMetadata(
            ProbeService.metadata, EchoRequest(), as: EchoResponse.self, options: CallOptions(metadata: metadata))
        XCTAssertEqual(response.message.text, "abc123")
        XCTAssertEqual(response.message.payload, Data([0, 255, 7]))
        XCTAssertEqual(response.initialMetadata["x-initial"], "hello")
        XCTAssertEqual(response.trailingMetadata["x-trailing"], "bye")
        await t.stop()
    }
}
