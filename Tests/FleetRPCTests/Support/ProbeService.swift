import FleetProtos
import FleetRPC
import Foundation
import Synchronization

/// A test service that reports what the server side saw: metadata, cancellation, handlers
/// that never finish, and how far a streaming writer got.
final class ProbeService: RPCService, Sendable {
    typealias Request = Visionfleet_V1_EchoRequest
    typealias Response = Visionfleet_V1_EchoResponse

    static let name = "test.Probe"
    static let metadata = "/test.Probe/Metadata"
    static let endless = "/test.Probe/Endless"
    static let stuck = "/test.Probe/Stuck"
    static let waitForCancel = "/test.Probe/WaitForCancel"

    var serviceName: String { Self.name }

    /// Messages the Endless handler has handed to the writer so far.
    let written = Atomic<Int>(0)
    /// Set when a handler observed its call being cancelled.
    let sawCancel = Atomic<Bool>(false)
    /// Set when the Stuck handler started.
    let stuckStarted = Atomic<Bool>(false)

    func register(into router: inout RPCRouter) {
        router.unary(Self.metadata) { (request: Request, context) in
            context.addInitialMetadata("x-initial", "hello")
            context.addTrailingMetadata("x-trailing", "bye")
            return Response.with {
                $0.text = context.requestMetadata["x-token"] ?? "<none>"
                $0.payload = Data((context.requestMetadata.binaryValues(for: "x-raw-bin").first ?? []))
            }
        }
        router.serverStreaming(Self.endless) { [self] (request: Request, writer: ResponseWriter<Response>, context) in
            let response = Response.with { $0.payload = Data(repeating: 1, count: Int(request.count)) }
            do {
                while true {
                    try await writer.write(response)
                    written.add(1, ordering: .relaxed)
                }
            } catch {
                sawCancel.store(true, ordering: .relaxed)
                throw error
            }
        }
        router.unary(Self.stuck) { [self] (_: Request, _) -> Response in
            stuckStarted.store(true, ordering: .relaxed)
            // Never finishes and ignores cancellation.
            await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in }
            return Response()
        }
        router.unary(Self.waitForCancel) { [self] (_: Request, context) -> Response in
            while !context.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
            sawCancel.store(true, ordering: .relaxed)
            return Response()
        }
    }
}
