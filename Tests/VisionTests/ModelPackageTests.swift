import Foundation
import TestSupport
import XCTest
@testable import Tensors
@testable import TrainingService
@testable import VectorIndex
@testable import VisionData
@testable import VisionModels

/// One package format for every task: train briefly, write the package as `vf train-local`
/// does, read it back, and the rebuilt model's outputs equal the trained model's to 1e-5.
final class ModelPackageTests: XCTestCase {
    func temp() -> URL { FileManager.default.temporaryDirectory.appendingPathComponent("vf-pkg-\(UUID().uuidString)") }

    func assertClose(_ a: Tensor, _ b: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
        let worst = zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1e-5, "\(what): outputs differ by \(worst)", file: file, line: line)
    }

    func randomImages(_ n: Int, _ c: Int, _ h: Int, _ w: Int) -> Tensor {
        var rng = RandomState(seed: 11)
        return Tensor(normal: [n, c, h, w], std: 1, rng: &rng)
    }

    static func tinySet(_ n: Int, classes: Int, channels: Int = 1, side: Int = 16) -> ClassificationSet {
        var rng = RandomState(seed: 2)
        let labels = (0..<n).map { Int32($0 % classes) }
        var pixels = [UInt8](repeating: 0, count: n * channels * side * side)
        for i in 0..<n {
            // Each class a brightness band, with noise.
            for p in 0..<(channels * side * side) {
                pixels[i * channels * side * side + p] = UInt8(min(255, Int(labels[i]) * 60 + rng.nextInt(60)))
            }
        }
        return ClassificationSet(pixels: pixels, labels: labels, count: n, channels: channels, height: side, width: side,
                                 classNames: (0..<classes).map { "class\($0)" })
    }

    func testClassificationPackageRebuildsTheTrainedModel() throws {
        for pooling in ["{type: avg}", "{type: gem, p: 3}"] {
            let config = try ExperimentConfig.parse(yaml: """
            configVersion: 1
            task: classification
            model: {backbone: {type: resnet_cifar, depth: 20}, pooling: \(pooling)}
            data: {input: {channels: 1, height: 16, width: 16}, mean: [0.5], std: [0.25]}
            train: {epochs: 1, batch_size: 8, seed: 1}
            optimizer: {type: sgd, lr: 0.05, momentum: 0.9}
            scheduler: {type: constant}
            """)
            let data = Self.tinySet(32, classes: 3)
            let trainer = try ClassificationTrainer(config: config, classes: 3)
            let result = try trainer.run(train: data, validation: data)
            let manifest = PackageManifests.make(config, classNames: data.classNames, metrics: result.metrics, lineage: .init(dataset: "tiny@1"))
            let dir = temp()
            try ModelPackage.write(.classification(trainer.model, pooling: config.pooling, gemP: config.gemP), manifest: manifest, to: dir)
            let loaded = try ModelPackage.read(from: dir)
            XCTAssertEqual(loaded.manifest.task, "classification")
            XCTAssertEqual(loaded.manifest.formatVersion, ModelManifest.currentFormatVersion)
            XCTAssertEqual(loaded.manifest.classNames, ["class0", "class1", "class2"])
            XCTAssertEqual(loaded.manifest.outputs.map(\.name), ["probabilities"])
            XCTAssertEqual(loaded.manifest.inputs.first?.shape, [-1, 1, 16, 16])
            XCTAssertEqual(loaded.manifest.preprocessing.resize, "resize")
            XCTAssertEqual(loaded.manifest.lineage.dataset, "tiny@1")
            let x = randomImages(4, 1, 16, 16)
            let expected = try trainer.forward(Variable(x), Graph(recording: false, training: false)).value
            assertClose(try loaded.model.forward(x), expected, "classification \(pooling)")
        }
    }

    func testDetectionPackageRebuildsTheTrainedModel() throws {
        let generator = ShapesGenerator(size: 64, objects: 1...2, scale: 0.3...0.5)
        let set = DetectionSet(dataset: generator.dataset(count: 8, seed: 5, root: URL(fileURLWithPath: "/nonexistent")))
        let config = try DetectionTrainerTests.config(epochs: 1)
        let trainer = try DetectionTrainer(config: config, classNames: set.classNames)
        let result = try trainer.run(train: set, validation: set)
        let manifest = PackageManifests.make(config, classNames: set.classNames, metrics: result.metrics, lineage: .init(dataset: "shapes@2"))
        let dir = temp()
        try ModelPackage.write(.detection(trainer.model), manifest: manifest, to: dir)
        let loaded = try ModelPackage.read(from: dir)
        let d = try XCTUnwrap(loaded.manifest.detection)
        XCTAssertEqual(d.size, "nano")
        XCTAssertEqual(d.depthwise, true)
        XCTAssertEqual(d.iouThreshold, 0.6)
        XCTAssertEqual(loaded.manifest.preprocessing.resize, "letterbox")
        XCTAssertEqual(loaded.manifest.preprocessing.padValue, 114)
        XCTAssertEqual(loaded.manifest.outputs.map(\.name), ["boxes", "scores", "classes", "count"])
        XCTAssertEqual(loaded.decoder?.nms, trainer.decoder.nms)
        let x = randomImages(2, 3, 64, 64)
        let expected = try trainer.model(Variable(x), Graph(recording: false, training: false)).value
        assertClose(try loaded.model.forward(x), expected, "detection raw outputs")
        // Python's safetensors reads the weights: every tensor, float32, metadata naming the task.
        let script = """
        import sys; from safetensors import safe_open
        with safe_open(sys.argv[1], framework="np") as f:
            assert all(f.get_tensor(k).dtype.name == "float32" for k in f.keys())
            print(len(list(f.keys())), f.metadata()["task"])
        """
        let python = try runPython(["-c", script, dir.appendingPathComponent("weights.safetensors").path])
        XCTAssertEqual(python.status, 0, python.stderr)
        XCTAssertEqual(python.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "\(trainer.model.stateDict().count) detection")
    }

    func testRetrievalPackageRebuildsTheTrainedModelAndItsGallery() throws {
        let config = try RetrievalTrainerTests.config(loss: "arcface", batch: 8).with(["data.input.height=16", "data.input.width=16", "train.epochs=1"])
        let data = Self.tinySet(24, classes: 3)
        let trainer = try RetrievalTrainer(config: config, classes: 3)
        let result = try trainer.run(train: data, gallery: data, queries: data)
        let gallery = ExactIndex(dimension: trainer.model.dimension)
        try gallery.add(try trainer.embed(data), ids: (0..<data.count).map(Int64.init), labels: data.labels)
        let manifest = PackageManifests.make(config, classNames: data.classNames, metrics: result.metrics, lineage: .init(dataset: "d@1"))
        let dir = temp()
        try ModelPackage.write(.retrieval(trainer.model), manifest: manifest, gallery: gallery, to: dir)
        let loaded = try ModelPackage.read(from: dir)
        XCTAssertEqual(loaded.manifest.retrieval?.embeddingDim, 32)
        XCTAssertEqual(loaded.manifest.retrieval?.normalization, "l2")
        XCTAssertEqual(loaded.manifest.outputs.first?.shape, [-1, 32])
        XCTAssertEqual(loaded.manifest.gallery, .init(file: "gallery.index", count: 24, dimension: 32, labeled: true))
        XCTAssertEqual(loaded.gallery?.labels, data.labels)
        XCTAssertEqual(loaded.gallery?.ids, (0..<24).map(Int64.init))
        XCTAssertEqual(loaded.gallery?.allVectors, gallery.allVectors)
        let x = randomImages(3, 1, 16, 16)
        let expected = try trainer.model(Variable(x), Graph(recording: false, training: false)).value
        assertClose(try loaded.model.forward(x), expected, "retrieval embeddings")
    }

    func testBadPackagesAreTypedErrorsNamingTheFile() throws {
        let net = try BackboneRegistry.build(.init(type: "resnet_cifar", depth: 20), inputChannels: 1, classes: 2)
        let config = try ExperimentConfig.load(path: ConfigTests.shipped)
        let manifest = PackageManifests.make(config, classNames: ["a", "b"], metrics: [:], lineage: .init(dataset: "d"))
        func fresh() throws -> URL {
            let dir = temp()
            try ModelPackage.write(.classification(net), manifest: manifest, to: dir)
            return dir
        }
        func error(_ dir: URL) -> ModelPackageError? {
            do { _ = try ModelPackage.read(from: dir); return nil } catch { return error as? ModelPackageError }
        }
        var dir = try fresh()
        var bytes = try Data(contentsOf: dir.appendingPathComponent("weights.safetensors"))
        bytes[100] ^= 0x55
        try bytes.write(to: dir.appendingPathComponent("weights.safetensors"))
        guard case .digestMismatch(let file, _, _)? = error(dir) else { return XCTFail("expected a digest mismatch") }
        XCTAssertEqual(file, "weights.safetensors")

        dir = try fresh()
        try FileManager.default.removeItem(at: dir.appendingPathComponent("weights.safetensors"))
        XCTAssertEqual(error(dir), .missingFile("weights.safetensors"))

        dir = try fresh()
        let url = dir.appendingPathComponent("manifest.json")
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        object["formatVersion"] = 99
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        XCTAssertEqual(error(dir), .newerFormat(found: 99, supported: ModelManifest.currentFormatVersion))
        XCTAssertTrue("\(ModelPackageError.newerFormat(found: 99, supported: 2))".contains("manifest.json"))
    }

    /// A format-1 package (classification, before detection and retrieval) still reads.
    func testFormatOnePackagesStillRead() throws {
        let net = try BackboneRegistry.build(.init(type: "resnet_cifar", depth: 20), inputChannels: 1, classes: 2)
        var manifest = PackageManifests.make(try ExperimentConfig.load(path: ConfigTests.shipped), classNames: ["a", "b"], metrics: [:],
                                             lineage: .init(dataset: "d"))
        manifest.formatVersion = 1
        let dir = temp()
        try ModelPackage.write(.classification(net), manifest: manifest, to: dir)
        XCTAssertNotNil(try ModelPackage.read(from: dir).classifier)
    }
}

extension ExperimentConfig {
    /// The same config with overrides applied to its resolved YAML.
    func with(_ overrides: [String]) throws -> ExperimentConfig { try ExperimentConfig.parse(yaml: resolvedYAML, overrides: overrides) }
}
