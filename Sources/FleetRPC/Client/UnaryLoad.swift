import CGRPCShim
import Foundation

/// A closed-loop unary load generator in the shim's C++ (`vfg_load_unary`, what Triton's
/// perf_analyzer is): `concurrency` calls in flight, each re-issued from the last one's
/// completion, so on a shared machine the client costs the server little CPU. For benchmarks.
public enum UnaryLoad {
    public struct Result: Sendable {
        /// Milliseconds of each successful call, in completion order.
        public var latenciesMs: [Double]
        public var completed: Int
        public var failed: Int
    }

    /// Runs for `seconds` on a background thread and returns when the last call completes.
    public static func run(on channel: RPCChannel, method: String, request: Data, concurrency: Int, seconds: Double) async throws -> Result {
        guard concurrency > 0, seconds > 0 else {
            throw RPCError(code: .invalidArgument, message: "load: concurrency and seconds must be positive")
        }
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                // Room for 100,000 calls a second; later ones are counted, not timed.
                var latencies = [Double](repeating: 0, count: Int(seconds * 100_000) + 1024)
                var completed: UInt64 = 0, failed: UInt64 = 0
                _ = request.withUnsafeBytes { bytes in
                    latencies.withUnsafeMutableBufferPointer { out in
                        vfg_load_unary(channel.handle, method, bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count, Int32(concurrency),
                                       seconds, out.baseAddress, out.count, &completed, &failed)
                    }
                }
                latencies.removeLast(latencies.count - min(latencies.count, Int(completed)))
                continuation.resume(returning: Result(latenciesMs: latencies, completed: Int(completed), failed: Int(failed)))
            }
        }
    }
}
