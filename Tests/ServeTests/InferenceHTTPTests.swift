import Foundation
import InferenceService
import TestSupport
import XCTest

/// The Open Inference Protocol over HTTP/REST against a served classifier, with the real
/// tritonclient.http and plain JSON as curl sends it.
final class InferenceHTTPTests: XCTestCase {
    func testTritonHTTPClientCallsEveryEndpoint() async throws {
        let h = try await ServeHarness.start(models: ["shapes@production"], batching: BatchingConfig(maxBatchSize: 8, maxQueueDelayMicroseconds: 500))
        _ = try await h.registryClient.upload(directory: try ServePackages.classifier(), model: "shapes", aliases: ["production"])
        try await h.waitServing("shapes", version: 1)
        let http = InferenceHTTPServer(host: "127.0.0.1", port: 0, repository: h.repository)
        let serving = Task { try await http.run() }
        var port: Int?
        for _ in 0..<250 where port == nil {
            port = http.boundPort
            try await Task.sleep(for: .milliseconds(20))
        }
        let dir = ServePackages.temp("http")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try ServePackages.png(width: 32, height: 32, seed: 3).write(to: dir.appendingPathComponent("image.png"))

        let result = await runPythonChecks("Tests/ServeTests/Python/http_checks.py",
                                           ["127.0.0.1:\(try XCTUnwrap(port))", "shapes", dir.appendingPathComponent("image.png").path])
        serving.cancel()
        switch result {
        case .success(let checks):
            XCTAssertGreaterThanOrEqual(checks.count, 26)
            for (name, passed) in checks.sorted(by: { $0.key < $1.key }) { XCTAssertTrue(passed, "tritonclient.http check \(name)") }
        case .failure(let failure):
            XCTFail("\(failure)")
        }
        await h.stop()
    }
}
