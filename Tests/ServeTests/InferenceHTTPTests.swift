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

    /// With bearer tokens the HTTP endpoint asks for one as the gRPC server does; health stays open.
    func testBearerTokensGuardTheHTTPEndpoint() async throws {
        let h = try await ServeHarness.start(models: ["shapes@production"])
        _ = try await h.registryClient.upload(directory: try ServePackages.classifier(), model: "shapes", aliases: ["production"])
        try await h.waitServing("shapes", version: 1)
        let http = InferenceHTTPServer(host: "127.0.0.1", port: 0, repository: h.repository, authTokens: ["ops:s3cret"])
        let serving = Task { try await http.run() }
        var port: Int?
        for _ in 0..<250 where port == nil {
            port = http.boundPort
            try await Task.sleep(for: .milliseconds(20))
        }
        let script = """
        import sys, urllib.request, urllib.error
        import tritonclient.http as triton
        base = "http://" + sys.argv[1]
        def status(path, token=None):
            request = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token} if token else {})
            try:
                return urllib.request.urlopen(request).status
            except urllib.error.HTTPError as e:
                return e.code
        client = triton.InferenceServerClient(url=sys.argv[1])
        ok = client.get_model_metadata("shapes", headers={"Authorization": "Bearer s3cret"})["name"] == "shapes"
        print(status("/v2/health/live"), status("/v2/models/shapes"), status("/v2/models/shapes", "wrong"),
              status("/v2/models/shapes", "s3cret"), ok)
        """
        let result = try await Task.detached { try runPython(["-c", script, "127.0.0.1:\(port ?? 0)"]) }.value
        serving.cancel()
        XCTAssertEqual(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "200 401 403 200 True", result.stderr)
        await h.stop()
    }
}
