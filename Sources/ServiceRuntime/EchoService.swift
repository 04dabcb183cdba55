import FleetProtos
import FleetRPC
import Foundation

/// `visionfleet.v1.EchoService`: every call kind, for `vf bench rpc` and the RPC tests.
/// `delay_ms` waits before answering; `fail_with_code` answers with that status instead,
/// carrying `echo-detail` trailing metadata and binary status details.
public struct EchoService: RPCService {
    public typealias Request = Visionfleet_V1_EchoRequest
    public typealias Response = Visionfleet_V1_EchoResponse
    typealias Methods = ServiceCatalog.EchoService

    public init() {}
    public var serviceName: String { Methods.name }

    public func register(into router: inout RPCRouter) {
        router.unary(Methods.unary.path) { (request: Request, context) in
            try await Self.prepare(request, context)
            return Response.with {
                $0.text = request.text
                $0.payload = request.payload
            }
        }
        router.serverStreaming(Methods.serverStream.path) { (request: Request, writer: ResponseWriter<Response>, context) in
            try await Self.prepare(request, context)
            var response = Response()
            response.text = request.text
            response.payload = request.payload
            for i in 0..<Int(request.count) {
                response.index = Int32(i)
                try await writer.write(response)
            }
        }
        router.clientStreaming(Methods.clientStream.path) { (requests: RequestStream<Request>, context) in
            var texts: [String] = []
            var bytes = 0
            for try await request in requests {
                try await Self.prepare(request, context)
                texts.append(request.text)
                bytes += request.payload.count
            }
            return Response.with {
                $0.text = texts.joined(separator: ",")
                $0.index = Int32(texts.count)
                $0.payload = Data(String(bytes).utf8)
            }
        }
        router.bidirectional(Methods.bidi.path) { (requests: RequestStream<Request>, writer: ResponseWriter<Response>, context) in
            var index: Int32 = 0
            for try await request in requests {
                try await Self.prepare(request, context)
                try await writer.write(Response.with {
                    $0.text = request.text
                    $0.payload = request.payload
                    $0.index = index
                })
                index += 1
            }
        }
    }

    private static func prepare(_ request: Request, _ context: ServerContext) async throws {
        if request.delayMs > 0 { try await Task.sleep(for: .milliseconds(Int(request.delayMs))) }
        if request.failWithCode != 0 {
            context.addTrailingMetadata("echo-detail", "requested failure")
            throw RPCError(code: RPCError.Code(rawValue: Int(request.failWithCode)) ?? .unknown,
                           message: "echo failure requested for '\(request.text)'",
                           details: Array("detail:\(request.text)".utf8))
        }
    }
}
