import FleetProtos
import FleetRPC
import Foundation
import InferenceService
import Tensors
import TestSupport
import VisionData
import VisionModels
import XCTest

/// The Open Inference Protocol against a served classifier, with the real tritonclient.
final class InferenceProtocolTests: XCTestCase {
    func testTritonClientCallsEveryRPC() async throws {
        let dir = ServePackages.temp("triton")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let traceFile = dir.appendingPathComponent("trace.json").path
        let h = try await ServeHarness.start(models: ["shapes@production"], batching: BatchingConfig(maxBatchSize: 8, maxQueueDelayMicroseconds: 500),
                                             traceFile: traceFile)
        let package = try ServePackages.classifier()
        _ = try await h.registryClient.upload(directory: package, model: "shapes", aliases: ["production"])
        try await h.waitServing("shapes", version: 1)

        let png = try ServePackages.png(width: 32, height: 32, seed: 3)
        try png.write(to: dir.appendingPathComponent("image.png"))
        try Data(try ImageCodec.decode(png, name: "image").pixels).write(to: dir.appendingPathComponent("pixels.u8"))

        // The server's probabilities are the package's own model's, softmaxed.
        let loaded = try ModelPackage.read(from: package)
        let prepared = ImagePreprocessor(spec: loaded.manifest.preprocessing, maxPixels: 1 << 24).prepare(try ImageCodec.decode(png, name: "i"))
        let logits = try loaded.model.forward(try Tensor(shape: [1, 3, 32, 32], values: prepared.values)).scalars
        let peak = logits.max()!, exps = logits.map { expf($0 - peak) }, sum = exps.reduce(0, +)
        var request = Inference_ModelInferRequest()
        request.modelName = "shapes"
        request.inputs = [.with { $0.name = "images"; $0.datatype = "FP32"; $0.shape = [1, 3, 32, 32] }]
        request.rawInputContents = [prepared.values.withUnsafeBytes { Data($0) }]
        let response: Inference_ModelInferResponse = try await h.call(ServiceCatalog.GRPCInferenceService.modelInfer, request)
        let served = response.rawOutputContents[0].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        for (a, b) in zip(served, exps.map { $0 / sum }) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        XCTAssertEqual(response.outputs.first?.shape, [1, 3])

        let result = await runPythonChecks("Tests/ServeTests/Python/triton_checks.py",
                                           ["127.0.0.1:\(h.port)", "shapes", dir.appendingPathComponent("image.png").path,
                                            dir.appendingPathComponent("pixels.u8").path, traceFile])
        switch result {
        case .success(let checks):
            XCTAssertFalse(checks.isEmpty)
            for (name, passed) in checks.sorted(by: { $0.key < $1.key }) { XCTAssertTrue(passed, "tritonclient check \(name)") }
        case .failure(let failure):
            XCTFail("\(failure)")
        }
        await h.stop()
    }
}
