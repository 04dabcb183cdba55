import FleetProtos
import Foundation
import InferenceService
import TestSupport
@testable import Tensors
import TrainingService
@testable import VisionData
@testable import VisionModels
import XCTest

/// A detector that has learned its images (YOLOX-nano overfit on four 96×96 shapes images,
/// batch norm's running statistics settled on them), packaged, published and served: Detect through vf-serve finds every
/// drawn object, with its class, where it is drawn.
final class TrainedDetectorTests: XCTestCase {
    func testServedDetectorFindsTheDrawnObjects() async throws {
        let generator = ShapesGenerator(size: 96, objects: 1...2, scale: 0.3...0.5)
        let samples = (0..<4).map { generator.sample(seed: 7, index: $0) }
        var pixels = [Float]()
        for s in samples { pixels += ImageOps.planar(s.image).map { Float($0) / 255 - 0.5 } }
        let x = try Tensor(shape: [4, 3, 96, 96], values: pixels)
        let truths = samples.map { $0.boxes.map(SimOTAAssigner.Truth.init) }
        let classes = ShapesGenerator.classNames.count
        let model = YOLOXModel(size: .nano, classes: classes, seed: 1)
        let loss = YOLOXLoss(classes: classes)
        let optimizer = AdamW(parameters: model.parameters, learningRate: 3e-3, weightDecay: 0)
        let graph = Graph()
        for _ in 0..<160 {
            let out = try loss(try model(Variable(x), graph), truths: truths, height: 96, width: 96, graph: graph)
            optimizer.zeroGrad()
            graph.backward(out.loss)
            optimizer.step()
            graph.reset()
        }
        // Settle batch norm's running statistics on the same images (serving uses them): one pass at
        // momentum 1 over the four images repeated 16 times. Four 96×96 images give the stride-32
        // level 36 values per channel, whose unbiased variance (×36/35) this overfit net notices;
        // the repeats make the statistics those the training steps normalised with.
        func norms(_ m: any Module) -> [BatchNorm2d] { ((m as? BatchNorm2d).map { [$0] } ?? []) + m.children.flatMap { norms($0.1) } }
        let batchNorms = norms(model)
        let momenta = batchNorms.map(\.momentum)
        batchNorms.forEach { $0.momentum = 1 }
        let repeated = try Tensor(shape: [64, 3, 96, 96], values: Array(repeatElement(pixels, count: 16).joined()))
        _ = try model(Variable(repeated), Graph(recording: false, training: true))
        zip(batchNorms, momenta).forEach { $0.momentum = $1 }

        let config = try ExperimentConfig.parse(yaml: """
        configVersion: 1
        task: detection
        model: {type: yolox, size: nano}
        loss: {type: yolox}
        data: {input: {channels: 3, height: 96, width: 96}, mean: [0.5, 0.5, 0.5], std: [1, 1, 1]}
        train: {epochs: 1, batch_size: 2}
        optimizer: {type: adamw, lr: 0.003}
        postprocess: {score_threshold: 0.3, iou_threshold: 0.5, max_detections: 20}
        """)
        let package = ServePackages.temp("overfit-detector")
        try ModelPackage.write(.detection(model), manifest: PackageManifests.make(config, classNames: ShapesGenerator.classNames, metrics: [:],
                                                                                   lineage: .init(dataset: "shapes@1")), to: package)
        let h = try await ServeHarness.start(models: ["shapes@production"])
        _ = try await h.registryClient.upload(directory: package, model: "shapes", aliases: ["production"])
        try await h.waitServing("shapes")
        for (i, s) in samples.enumerated() {
            let r: Visionfleet_V1_DetectResponse = try await h.call(ServiceCatalog.VisionService.detect, Visionfleet_V1_DetectRequest.with {
                $0.model.name = "shapes"; $0.image.encoded = try! ImageCodec.encodePNG(s.image)
            })
            let found = r.detections.map {
                Detection(x1: $0.box.xMin, y1: $0.box.yMin, x2: $0.box.xMax, y2: $0.box.yMax, score: $0.score, classIndex: Int($0.classID))
            }
            for b in s.boxes {
                let truth = Detection(x1: Float(b.xmin), y1: Float(b.ymin), x2: Float(b.xmax), y2: Float(b.ymax), score: 1, classIndex: b.category)
                XCTAssertTrue(found.contains { $0.classIndex == b.category && $0.iou(truth) > 0.5 },
                              "image \(i): \(ShapesGenerator.classNames[b.category]) at \(b) not found; vf-serve answered \(r.detections.prefix(5))")
            }
            XCTAssertTrue(r.detections.allSatisfy { $0.label == ShapesGenerator.classNames[Int($0.classID)] })
        }
        await h.stop()
    }
}
