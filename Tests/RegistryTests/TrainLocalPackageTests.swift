import Foundation
import Tensors
import TestSupport
import VisionModels
import XCTest

/// `vf train-local` writes a complete package for each task; `vf registry upload` takes that
/// folder, `vf registry download` brings it back, and the downloaded package rebuilds a model
/// whose outputs equal the local package's.
final class TrainLocalPackageTests: XCTestCase {
    static let bin = Repo.root.appendingPathComponent(".build/debug")
    static let fashion = "/usr/share/datasets/fashion-mnist"

    func vf(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let result = try runProcess(Self.bin.appendingPathComponent("vf").path, arguments, environment: environment)
        XCTAssertEqual(result.status, 0, "vf \(arguments.joined(separator: " ")): \(result.stderr.suffix(2000))")
        return result.stdout
    }

    func testEveryTaskTrainsUploadsAndDownloadsAsAPackage() async throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: Self.bin.appendingPathComponent("vf").path), "vf not built")
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Self.fashion), "dataset-fashion-mnist is not installed")
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("vf-tl-\(UUID().uuidString)")
        let shapes = work.appendingPathComponent("shapes").path
        _ = try vf(["dataset", "synth", "--out", shapes, "--count", "40", "--size", "64", "--seed", "1"])
        let runs: [(task: String, arguments: [String])] = [
            ("classification", ["--config", Repo.path("configs/classification/resnet20_fashion_mnist.yaml"), "--data", Self.fashion,
                                "--format", "idx", "--limit", "64", "--set", "train.epochs=1", "--set", "train.batch_size=32"]),
            ("retrieval", ["--config", Repo.path("configs/retrieval/resnet20_fashion_mnist_arcface.yaml"), "--data", Self.fashion,
                           "--format", "idx", "--limit", "64", "--set", "train.epochs=1", "--set", "train.batch_size=32"]),
            ("detection", ["--config", Repo.path("configs/detection/yolox_nano_shapes.yaml"), "--data", shapes, "--format", "coco",
                           "--set", "train.epochs=1", "--set", "train.eval_every=1", "--set", "train.no_augment_epochs=0",
                           "--set", "data.input.height=64", "--set", "data.input.width=64"]),
        ]
        let server = try RegistryProcess(home: work.appendingPathComponent("registry"))
        try await server.start()
        defer { server.kill(SIGTERM) }
        let env = ["VF_REGISTRY_ADDR": "127.0.0.1:\(server.port)"]
        for run in runs {
            let out = work.appendingPathComponent(run.task)
            _ = try vf(["train-local"] + run.arguments + ["--out", out.path])
            let local = try ModelPackage.read(from: out)
            XCTAssertEqual(local.manifest.task, run.task)
            XCTAssertEqual(local.manifest.formatVersion, ModelManifest.currentFormatVersion)
            for file in ["manifest.json", "weights.safetensors", "config.yaml", "metrics.json"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "\(run.task): \(file)")
            }
            if run.task == "retrieval" { XCTAssertEqual(local.gallery?.count, 64) }

            let uploaded = try vf(["registry", "upload", out.path, "--name", "tl-\(run.task)", "--alias", "production", "--json"], environment: env)
            XCTAssertTrue(uploaded.contains("\"version\":1"), uploaded)
            let back = work.appendingPathComponent("\(run.task)-download")
            _ = try vf(["registry", "download", "tl-\(run.task)@production", "--out", back.path, "--json"], environment: env)
            let downloaded = try ModelPackage.read(from: back)
            XCTAssertEqual(downloaded.manifest, local.manifest)
            let p = local.manifest.preprocessing
            var rng = RandomState(seed: 4)
            let x = Tensor(normal: [2, p.channels, p.height, p.width], std: 1, rng: &rng)
            XCTAssertEqual(try downloaded.model.forward(x).scalars, try local.model.forward(x).scalars, run.task)
        }
        let listed = try vf(["registry", "models", "--json"], environment: env)
        for task in ["classification", "detection", "retrieval"] { XCTAssertTrue(listed.contains("tl-\(task)"), listed) }
    }
}
