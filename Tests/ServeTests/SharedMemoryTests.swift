import Foundation
import InferenceService
import TestSupport
import XCTest

/// Triton's system shared-memory extension with the real tritonclient: tensors in and out through
/// registered POSIX shared memory, every misuse a clear status, and refused unless allowed.
final class SharedMemoryTests: XCTestCase {
    func testTensorsTravelThroughClientSharedMemory() async throws {
        try await check(allowed: true)
    }

    func testClientSharedMemoryIsRefusedUnlessAllowed() async throws {
        try await check(allowed: false)
    }

    private func check(allowed: Bool) async throws {
        let h = try await ServeHarness.start(models: ["shapes@production"], batching: BatchingConfig(maxBatchSize: 8, maxQueueDelayMicroseconds: 500),
                                             allowClientShm: allowed)
        _ = try await h.registryClient.upload(directory: try ServePackages.classifier(), model: "shapes", aliases: ["production"])
        try await h.waitServing("shapes", version: 1)
        let result = await runPythonChecks("Tests/ServeTests/Python/shm_checks.py", ["127.0.0.1:\(h.port)", "shapes", allowed ? "1" : "0"])
        switch result {
        case .success(let checks):
            XCTAssertGreaterThanOrEqual(checks.count, allowed ? 15 : 3)
            for (name, passed) in checks.sorted(by: { $0.key < $1.key }) { XCTAssertTrue(passed, "shared-memory check \(name)") }
        case .failure(let failure):
            XCTFail("\(failure)")
        }
        await h.stop()
    }
}
