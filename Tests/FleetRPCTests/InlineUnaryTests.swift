import Dispatch
import FleetProtos
import FleetRPC
import Foundation
import SwiftProtobuf
import Synchronization
import XCTest

/// A unary method with an inline form whose behaviour the request's text picks, reporting in its
/// answer which path served it.
private final class InlineService: RPCService, Sendable {
    static let path = "/test.Inline/Call"
    var serviceName: String { "test.Inline" }
    /// Calls the inline form took, and calls the task handler ran.
    let inlineTaken = Atomic<Int>(0)
    let taskRuns = Atomic<Int>(0)

    func register(into router: inout RPCRouter) {
        router.unary(Self.path, inline: { [self] (request: EchoRequest, context, responder: UnaryResponder<EchoResponse>) in
            switch request.text {
            case "decline":
                return false
            case "now":
                context.addTrailingMetadata("x-path", "inline")
                responder.succeed(.with { $0.text = "inline:now"; $0.payload = request.payload })
            case "later":
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(20)) {
                    responder.succeed(.with { $0.text = "inline:later" })
                    responder.fail(RPCError(code: .internal, message: "a second answer is ignored"))
                }
            case "fail":
                responder.fail(RPCError(code: .notFound, message: "no item 'x'"))
            default:
                break  // "drop": the responder goes away unanswered
            }
            inlineTaken.add(1, ordering: .relaxed)
            return true
        }) { [self] (request: EchoRequest, context) in
            taskRuns.add(1, ordering: .relaxed)
            return .with { $0.text = "task:\(request.text)" }
        }
    }
}

/// An interceptor with no synchronous form: inline handlers must then run in tasks.
private struct AsyncOnlyInterceptor: ServerInterceptor {
    func intercept(context: ServerContext, next: @Sendable () async throws -> Void) async throws { try await next() }
}

final class InlineUnaryTests: XCTestCase {
    private static func call(_ t: TestServer, _ text: String, metadata: Metadata = [:]) async throws -> EchoResponse {
        try await t.client.unary(InlineService.path, EchoRequest.with { $0.text = text; $0.payload = Data([7, 8]) }, as: EchoResponse.self,
                                 options: CallOptions(metadata: metadata))
    }

    func testInlineAnswersNowLaterOrDeclines() async throws {
        let service = InlineService()
        let t = try await TestServer.start(services: [service], interceptors: [LoggingInterceptor()])
        let now = try await t.client.unaryWithMetadata(InlineService.path, EchoRequest.with { $0.text = "now"; $0.payload = Data([7, 8]) },
                                                       as: EchoResponse.self)
        XCTAssertEqual(now.message.text, "inline:now")
        XCTAssertEqual(now.message.payload, Data([7, 8]))
        XCTAssertEqual(now.trailingMetadata["x-path"], "inline")
        let later = try await Self.call(t, "later")
        XCTAssertEqual(later.text, "inline:later")
        let declined = try await Self.call(t, "decline")
        XCTAssertEqual(declined.text, "task:decline")
        XCTAssertEqual(service.inlineTaken.load(ordering: .relaxed), 2)
        XCTAssertEqual(service.taskRuns.load(ordering: .relaxed), 1)

        // Many at once, answered from other threads: each gets its own answer.
        let texts = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<100 { group.addTask { try await Self.call(t, i % 2 == 0 ? "later" : "decline").text } }
            var all: [String] = []
            for try await text in group { all.append(text) }
            return all
        }
        XCTAssertEqual(texts.filter { $0 == "inline:later" }.count, 50)
        XCTAssertEqual(texts.filter { $0 == "task:decline" }.count, 50)
        await t.stop()
    }

    func testInlineErrorsMalformedRequestsAndDroppedResponders() async throws {
        let t = try await TestServer.start(services: [InlineService()])
        do {
            _ = try await Self.call(t, "fail")
            XCTFail("expected NOT_FOUND")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .notFound)
            XCTAssertEqual(error.message, "no item 'x'")
        }
        do {
            _ = try await Self.call(t, "drop")
            XCTFail("expected INTERNAL")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .internal)
            XCTAssertTrue(error.message.contains("without answering"), error.message)
        }
        // Invalid UTF-8 in EchoRequest's string field: the inline path refuses it as the task path does.
        let bogus = Google_Protobuf_BytesValue.with { $0.value = Data([0xFF, 0xFE, 0xFD]) }
        do {
            _ = try await t.client.unary(InlineService.path, bogus, as: EchoResponse.self)
            XCTFail("expected INVALID_ARGUMENT")
        } catch let error as RPCError {
            XCTAssertEqual(error.code, .invalidArgument)
            XCTAssertTrue(error.message.contains("visionfleet.v1.EchoRequest"), error.message)
        }
        let still = try await Self.call(t, "now")
        XCTAssertEqual(still.text, "inline:now")
        await t.stop()
    }

    func testInlineCallsPassTheInterceptors() async throws {
        let service = InlineService()
        let t = try await TestServer.start(services: [service], interceptors: [LoggingInterceptor(), AuthTokenInterceptor(tokens: ["s3cret"])])
        do {
            _ = try await Self.call(t, "now")
            XCTFail("expected UNAUTHENTICATED")
        } catch let error as RPCError { XCTAssertEqual(error.code, .unauthenticated) }
        do {
            _ = try await Self.call(t, "now", metadata: ["authorization": "Bearer wrong"])
            XCTFail("expected PERMISSION_DENIED")
        } catch let error as RPCError { XCTAssertEqual(error.code, .permissionDenied) }
        XCTAssertEqual(service.inlineTaken.load(ordering: .relaxed), 0, "a refused call never reaches the handler")
        let ok = try await Self.call(t, "now", metadata: ["authorization": "Bearer s3cret"])
        XCTAssertEqual(ok.text, "inline:now")
        await t.stop()

        // An interceptor without a synchronous form: every call runs in a task, through it.
        let other = InlineService()
        let u = try await TestServer.start(services: [other], interceptors: [AsyncOnlyInterceptor()])
        let text = try await Self.call(u, "now").text
        XCTAssertEqual(text, "task:now")
        XCTAssertEqual(other.inlineTaken.load(ordering: .relaxed), 0)
        await u.stop()
    }
}
