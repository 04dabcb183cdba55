import FleetProtos
import FleetRPC
import Foundation
import InferenceService
import TestSupport
import TrainingService
import VisionData
import VisionModels
import XCTest

/// Detect through vf-serve gives the detections of the trainer's own evaluation path
/// (`DetectionTrainer.detect`, the one COCO AP is measured with) on the same images: decoded
/// from PNG, letterboxed from 96×96 into the model's 64×64, boxes mapped back to the image's
/// pixels, thresholds per request.
final class DetectTests: XCTestCase {
    func testDetectMatchesTheTrainersDetectionsInImagePixels() async throws {
        let generator = ShapesGenerator(size: 96, objects: 1...3)
        let images = 6
        let set = DetectionSet(dataset: generator.dataset(count: images, seed: 5, root: URL(fileURLWithPath: "/nonexistent")))
        let config = try ExperimentConfig.parse(yaml: """
        configVersion: 1
        task: detection
        model: {type: yolox, size: nano}
        loss: {type: yolox, box: giou, l1: true}
        data: {input: {channels: 3, height: 64, width: 64}, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}
        train: {epochs: 1, batch_size: 4, seed: 1}
        optimizer: {type: adamw, lr: 0.004}
        scheduler: {type: constant}
        postprocess: {score_threshold: 0.001, iou_threshold: 0.6, max_detections: 20}
        """)
        let trainer = try DetectionTrainer(config: config, classNames: ShapesGenerator.classNames)
        let reference = try trainer.detect(set)
        let package = ServePackages.temp("detector")
        try ModelPackage.write(.detection(trainer.model), manifest: PackageManifests.make(config, classNames: ShapesGenerator.classNames,
                                                                                            metrics: [:], lineage: .init(dataset: "shapes@1")), to: package)
        let h = try await ServeHarness.start(models: ["shapes@production"])
        _ = try await h.registryClient.upload(directory: package, model: "shapes", aliases: ["production"])
        try await h.waitServing("shapes")

        let pngs = try (0..<images).map { try ImageCodec.encodePNG(generator.sample(seed: 5, index: $0).image) }
        let many: Visionfleet_V1_DetectResponse = try await h.call(ServiceCatalog.VisionService.detect, Visionfleet_V1_DetectRequest.with {
            $0.model.name = "shapes"
            $0.images = pngs.map { png in .with { $0.encoded = png } }
        })
        XCTAssertEqual(many.results.count, images)
        var compared = 0
        for (i, result) in many.results.enumerated() {
            XCTAssertEqual(result.imageWidth, 96)
            XCTAssertEqual(result.imageHeight, 96)
            let expected = reference[i]
            XCTAssertEqual(result.detections.count, expected.count, "image \(i)")
            for (got, want) in zip(result.detections, expected) {
                XCTAssertEqual(Int(got.classID), want.classIndex, "image \(i)")
                XCTAssertEqual(got.label, ShapesGenerator.classNames[want.classIndex])
                XCTAssertEqual(got.score, want.score, accuracy: 2e-3, "image \(i)")
                for (a, b) in [(got.box.xMin, want.x1), (got.box.yMin, want.y1), (got.box.xMax, want.x2), (got.box.yMax, want.y2)] {
                    XCTAssertEqual(a, b, accuracy: 0.75, "image \(i): box in the 96×96 image's pixels")
                }
                XCTAssertTrue(got.box.xMin >= 0 && got.box.xMax <= 96 && got.box.yMin >= 0 && got.box.yMax <= 96)
                compared += 1
            }
        }
        XCTAssertGreaterThan(compared, 0, "the seeded detector finds candidates to compare")

        // Per-request thresholds: a higher score threshold keeps a subset; max_detections caps.
        let strict: Visionfleet_V1_DetectResponse = try await h.call(ServiceCatalog.VisionService.detect, Visionfleet_V1_DetectRequest.with {
            $0.model.name = "shapes"; $0.image.encoded = pngs[0]; $0.scoreThreshold = 0.0015; $0.maxDetections = 2
        })
        XCTAssertLessThanOrEqual(strict.detections.count, 2)
        XCTAssertTrue(strict.detections.allSatisfy { $0.score >= 0.0015 })
        await assertRPCError(.invalidArgument, field: "score_threshold") {
            let _: Visionfleet_V1_DetectResponse = try await h.call(ServiceCatalog.VisionService.detect, Visionfleet_V1_DetectRequest.with {
                $0.model.name = "shapes"; $0.image.encoded = pngs[0]; $0.scoreThreshold = 2
            })
        }
        // The OIP outputs agree: boxes, scores, classes, count.
        var infer = Inference_ModelInferRequest()
        infer.modelName = "shapes"
        infer.inputs = [.with { $0.name = "image_bytes"; $0.datatype = "BYTES"; $0.shape = [1] }]
        infer.rawInputContents = [InferInputsBytes.join([pngs[1]])]
        let oip: Inference_ModelInferResponse = try await h.call(ServiceCatalog.GRPCInferenceService.modelInfer, infer)
        XCTAssertEqual(oip.outputs.map(\.name), ["boxes", "scores", "classes", "count"])
        let count = oip.rawOutputContents[3].withUnsafeBytes { $0.load(as: Int32.self) }
        XCTAssertEqual(Int(count), reference[1].count)
        XCTAssertEqual(oip.outputs[0].shape, [1, 20, 4])
        await h.stop()
    }
}

/// Triton's raw BYTES layout, as a client writes it.
enum InferInputsBytes {
    static func join(_ elements: [Data]) -> Data {
        var out = Data()
        for e in elements {
            withUnsafeBytes(of: UInt32(e.count).littleEndian) { out.append(contentsOf: $0) }
            out.append(e)
        }
        return out
    }
}
