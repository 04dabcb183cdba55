import ArgumentParser
import FleetProtos
import FleetRPC
import Foundation
import ServiceRuntime

/// `vf bench rpc`: unary echo calls/s and latency at 1, 16 and 64 calls in flight, and a
/// server stream of 1 KiB messages, Swift client to Swift server over loopback.
struct RPCBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rpc", abstract: "gRPC throughput and latency.")

    @Option(help: "Seconds per unary concurrency level.")
    var seconds = 3.0

    @Option(help: "Messages in the server-stream run.")
    var streamMessages = 200_000

    @Option(help: "Benchmark an external EchoService server at host:port instead of an in-process one.")
    var target: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        var server: RPCServer?
        let address: String
        if let target {
            address = target
        } else {
            let local = RPCServer(config: ServerConfig(host: "127.0.0.1", port: 0), services: [EchoService()])
            address = "127.0.0.1:\(try await local.start())"
            server = local
        }
        let client = RPCClient(channel: try RPCChannel(target: address))
        let request = Visionfleet_V1_EchoRequest.with { $0.text = "ping" }

        // Warm up the connection and the code paths.
        for _ in 0..<500 { _ = try await client.unary(ServiceCatalog.EchoService.unary.path, request, as: EchoService.Response.self) }

        var results: [Int: UnaryFigures] = [:]
        for concurrency in [1, 16, 64] {
            results[concurrency] = try await Self.unary(client: client, request: request, concurrency: concurrency,
                                                        seconds: seconds)
        }
        let streamRate = try await Self.serverStream(client: client, messages: streamMessages)
        await server?.shutdown(grace: .zero)

        if json {
            let object: [String: Double] = [
                "calls_per_s_1": results[1]!.callsPerSecond.rounded(),
                "calls_per_s_16": results[16]!.callsPerSecond.rounded(),
                "calls_per_s_64": results[64]!.callsPerSecond.rounded(),
                "p50_us_16": results[16]!.p50Micros.rounded(),
                "p99_us_16": results[16]!.p99Micros.rounded(),
                "stream_msgs_per_s": streamRate.rounded(),
            ]
            try JSONLine.print(object)
        } else {
            let peer = target == nil ? "Swift server" : "server at \(address)"
            print("unary echo (Swift client -> \(peer), loopback, \(seconds) s per level)")
            print("in flight   calls/s      p50 us    p99 us")
            for c in [1, 16, 64] {
                let r = results[c]!
                print(String(format: "%9d %9.0f %11.0f %9.0f", c, r.callsPerSecond, r.p50Micros, r.p99Micros))
            }
            print(String(format: "server stream, 1 KiB messages: %.0f msgs/s", streamRate))
        }
    }

    struct UnaryFigures {
        var callsPerSecond: Double
        var p50Micros: Double
        var p99Micros: Double
    }

    static func unary(client: RPCClient, request: Visionfleet_V1_EchoRequest, concurrency: Int,
                      seconds: Double) async throws -> UnaryFigures {
        let clock = ContinuousClock()
        let start = clock.now
        let end = start + .milliseconds(Int(seconds * 1000))
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var samples: [Double] = []
                    samples.reserveCapacity(100_000)
                    while clock.now < end {
                        let t0 = clock.now
                        _ = try await client.unary(ServiceCatalog.EchoService.unary.path, request, as: EchoService.Response.self)
                        samples.append(Self.micros(clock.now - t0))
                    }
                    return samples
                }
            }
            var all: [Double] = []
            for try await part in group { all += part }
            return all.sorted()
        }
        let elapsed = Self.micros(clock.now - start) / 1e6
        func percentile(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        return UnaryFigures(callsPerSecond: Double(latencies.count) / elapsed, p50Micros: percentile(0.5),
                            p99Micros: percentile(0.99))
    }

    static func serverStream(client: RPCClient, messages: Int) async throws -> Double {
        let request = Visionfleet_V1_EchoRequest.with {
            $0.count = Int32(messages)
            $0.payload = Data(repeating: 7, count: 1024)
        }
        let clock = ContinuousClock()
        let start = clock.now
        let received = try await client.serverStreaming(ServiceCatalog.EchoService.serverStream.path, request,
                                                        as: EchoService.Response.self) { stream in
            var n = 0
            for try await _ in stream { n += 1 }
            return n
        }
        guard received == messages else {
            throw ValidationError("server stream delivered \(received) of \(messages) messages")
        }
        return Double(messages) / (micros(clock.now - start) / 1e6)
    }

    static func micros(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12
    }
}
