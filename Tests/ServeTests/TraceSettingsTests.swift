import Foundation
@testable import InferenceService
import XCTest

/// Triton's trace settings and the tracer behind TraceSetting: sampling by rate, a count that
/// runs out, per-model overrides and their clearing, and when trace files are written.
final class TraceSettingsTests: XCTestCase {
    func testRateCountAndShutdownFlush() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vf-trace-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("trace.json").path
        let tracer = RequestTracer(traceFile: file)
        XCTAssertNil(tracer.begin(model: "m"), "tracing starts OFF")

        let after = try tracer.update(["trace_level": ["TIMESTAMPS"], "trace_rate": ["2"], "trace_count": ["3"]], model: nil)
        XCTAssertEqual(after["trace_level"], ["TIMESTAMPS"])
        XCTAssertEqual(after["trace_count"], ["3"])
        var traces: [RequestTracer.Trace] = []
        for _ in 0..<10 { if let t = tracer.begin(model: "m") { traces.append(t) } }
        XCTAssertEqual(traces.map(\.id), [1, 2, 3], "every second request until the count of 3 runs out")
        XCTAssertEqual(tracer.settings(model: nil)["trace_count"], ["0"])

        let timing = RequestTiming(queueNs: 1_000, computeInputNs: 10, computeInferNs: 100, computeOutputNs: 5, batchSize: 2,
                                   computeStartNs: RequestTracer.monotonicNs())
        for (i, t) in traces.enumerated() { tracer.end(t, version: 4, requestID: "r\(i)", timing: i == 2 ? nil : timing) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: file), "log_frequency 0 writes at shutdown")
        tracer.flush()
        let written = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [[String: Any]])
        XCTAssertEqual(written.map { $0["request_id"] as? String }, ["r0", "r1", "r2"])
        XCTAssertEqual(written.first?["model_version"] as? Int, 4)
        let names = (written[0]["timestamps"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        XCTAssertEqual(names, ["REQUEST_START", "QUEUE_START", "COMPUTE_START", "COMPUTE_INPUT_END", "COMPUTE_OUTPUT_START",
                               "COMPUTE_END", "REQUEST_END"])
        let failed = (written[2]["timestamps"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        XCTAssertEqual(failed, ["REQUEST_START", "REQUEST_END"], "a request that never reached compute has its ends only")
    }

    func testModelOverridesAndRefusals() throws {
        let tracer = RequestTracer(traceFile: "/tmp/unused-trace.json")
        _ = try tracer.update(["trace_level": ["TIMESTAMPS"], "trace_rate": ["1"]], model: "a")
        XCTAssertNotNil(tracer.begin(model: "a"))
        XCTAssertNil(tracer.begin(model: "b"), "other models follow the global OFF")
        XCTAssertEqual(tracer.settings(model: "a")["trace_rate"], ["1"])
        XCTAssertEqual(tracer.settings(model: "a")["log_frequency"], ["0"], "unset fields follow the global ones")
        _ = try tracer.update(["trace_level": [], "trace_rate": []], model: "a")
        XCTAssertEqual(tracer.settings(model: "a")["trace_level"], ["OFF"])
        XCTAssertNil(tracer.begin(model: "a"))

        // Every change or none: a bad value leaves the rate as it was.
        XCTAssertThrowsError(try tracer.update(["trace_rate": ["5"], "trace_count": ["-2"]], model: nil)) { error in
            guard case ServeError.invalidArgument(_, let field, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(field, "trace_count")
        }
        XCTAssertEqual(tracer.settings(model: nil)["trace_rate"], ["1000"])
        for bad in [["trace_level": ["TENSORS"]], ["trace_level": ["OFF", "TIMESTAMPS"]], ["trace_rate": ["fast"]],
                    ["trace_file": ["/elsewhere"]], ["trace_mode": ["opentelemetry"]], ["trace_colour": ["red"]]] {
            XCTAssertThrowsError(try tracer.update(bad, model: nil), "\(bad)")
        }
        // Without a trace file, tracing cannot be switched on.
        XCTAssertThrowsError(try RequestTracer(traceFile: nil).update(["trace_level": ["TIMESTAMPS"]], model: nil)) { error in
            guard case ServeError.failedPrecondition = error else { return XCTFail("\(error)") }
        }
    }
}
