import FleetProtos
import FleetRPC
import Foundation
import InferenceService
import TestSupport
import XCTest

/// Triton's own load generator against vf-serve, unchanged: perf_analyzer reads ModelMetadata
/// and ModelConfig, fills every declared input with generated data (the optional `image_bytes`
/// too), drives ModelInfer from several clients and reads ModelStatistics for its server-side
/// breakdown.
final class PerfAnalyzerTests: XCTestCase {
    func testPerfAnalyzerRunsAgainstVfServe() async throws {
        try await drive(http: false, extra: [], allowClientShm: false)
    }

    /// Its `--shared-memory system` mode: every input and output through registered regions.
    func testPerfAnalyzerWithSystemSharedMemory() async throws {
        try await drive(http: false, extra: ["--shared-memory", "system"], allowClientShm: true)
    }

    /// Over HTTP/REST (binary tensor data), plain and with shared memory.
    func testPerfAnalyzerOverHTTP() async throws {
        try await drive(http: true, extra: [], allowClientShm: false)
        try await drive(http: true, extra: ["--shared-memory", "system"], allowClientShm: true)
    }

    private func drive(http: Bool, extra: [String], allowClientShm: Bool) async throws {
        let h = try await ServeHarness.start(models: ["shapes@production"], batching: BatchingConfig(maxBatchSize: 8, maxQueueDelayMicroseconds: 500),
                                             allowClientShm: allowClientShm)
        var target = "127.0.0.1:\(h.port)"
        var serving: Task<Void, any Error>?
        if http {
            let server = InferenceHTTPServer(host: "127.0.0.1", port: 0, repository: h.repository,
                                             sharedMemory: SharedMemoryRegions(allowClients: allowClientShm))
            serving = Task { try await server.run() }
            var port: Int?
            for _ in 0..<250 where port == nil {
                port = server.boundPort
                try await Task.sleep(for: .milliseconds(20))
            }
            target = "127.0.0.1:\(try XCTUnwrap(port))"
        }
        defer { serving?.cancel() }
        _ = try await h.registryClient.upload(directory: try ServePackages.classifier(), model: "shapes", aliases: ["production"])
        try await h.waitServing("shapes", version: 1)
        let csv = ServePackages.temp("perf-analyzer").appendingPathExtension("csv")
        defer { try? FileManager.default.removeItem(at: csv) }

        let tool = PerfAnalyzer.path
        let arguments = ["-m", "shapes", "-i", http ? "http" : "grpc", "-u", target, "--concurrency-range", "4",
                         "--measurement-mode", "count_windows", "--measurement-request-count", "100", "-f", csv.path,
                         // This checks that perf_analyzer runs against vf-serve, not how steady a shared 2-core
                         // host is: windows of 100 requests often differ by more than its default 10%.
                         "--stability-percentage", "100", "--max-trials", "20"] + extra
        let run = try await Task.detached { try runProcess(tool, arguments) }.value
        XCTAssertEqual(run.status, 0, "perf_analyzer: \(run.stdout)\n\(run.stderr)")
        // Its server-side section comes from ModelStatistics.
        XCTAssertTrue(run.stdout.contains("Successful request count"), run.stdout)

        // The CSV: a header, then the concurrency's row with its throughput.
        let lines = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.first?.split(separator: ",").prefix(2), ["Concurrency", "Inferences/Second"])
        let row = try XCTUnwrap(lines.dropFirst().first).split(separator: ",")
        XCTAssertEqual(row.first, "4")
        XCTAssertGreaterThan(Double(row[1]) ?? 0, 0, "throughput in \(row)")

        let stats: Inference_ModelStatisticsResponse = try await h.call(ServiceCatalog.GRPCInferenceService.modelStatistics,
                                                                          Inference_ModelStatisticsRequest.with { $0.name = "shapes" })
        let s = try XCTUnwrap(stats.modelStats.first)
        XCTAssertGreaterThanOrEqual(s.inferenceStats.success.count, 100)
        XCTAssertEqual(s.inferenceStats.fail.count, 0)
        await h.stop()
    }
}
