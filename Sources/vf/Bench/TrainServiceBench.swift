import ArgumentParser
import FleetProtos
import Foundation
import ServiceRuntime
import Tensors
import VisionData
import VisionModels

/// `vf bench train-service`: the shipped Fashion-MNIST classification config trained through
/// the fleet — vf-ingest, vf-train and vf-registry processes: import, submit, follow, publish —
/// and, in the same run on the same data, with `vf train-local`'s trainer in this process.
/// Both train the same images in the same order (deterministic), so their top-1 must match;
/// the service's cost is the difference in the training loop's throughput.
struct TrainServiceBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train-service", abstract: "Training through the fleet vs train-local.")

    @Option(help: "Config to train (the service gets its text).") var config = "configs/classification/resnet20_fashion_mnist.yaml"
    @Option(help: "Fashion-MNIST directory (Debian's dataset-fashion-mnist).") var data = "/usr/share/datasets/fashion-mnist"
    @Option(help: "Training images (the first N of the 60,000); 0 = all.") var limit = 10_000
    @Option(help: "Epochs (train.epochs).") var epochs = 1
    @Option(name: .customLong("set"), help: "Config override key.path=value (repeatable).") var overrides: [String] = []
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        BLASCore.reexecIfMisdetected()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("vf-bench-train-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        func log(_ text: String) { if !json { FileHandle.standardError.write(Data((text + "\n").utf8)) } }
        let clock = ContinuousClock()
        let overrides = ["train.epochs=\(epochs)"] + self.overrides

        // The same images for both: an IDX folder of the first `limit` training images and the test set.
        var sets = try IDXReader.fashionMNIST(directory: URL(fileURLWithPath: data))
        if limit > 0 { sets.train = sets.train.prefix(limit) }
        let folder = work.appendingPathComponent("fashion")
        try Self.writeIDX(sets, to: folder)
        log("\(sets.train.count) training and \(sets.test.count) test images in \(folder.path)")

        // train-local's trainer, in this process.
        var start = clock.now
        let experiment = try ExperimentConfig.load(path: config, overrides: overrides)
        let (train, test) = try FashionData.load(format: "idx", directory: folder.path, limit: nil, config: experiment)
        let local = try FashionData.train(experiment, train: train, validation: test, datasetName: folder.path).result
        let localWall = (clock.now - start).seconds
        log(String(format: "train-local: top-1 %.4f, %.1f images/s, wall %.1f s", local.metrics["top1"] ?? 0, local.trainImagesPerSecond, localWall))

        // The fleet.
        let ingest = try BenchServer(executable: "vf-ingest", home: work.appendingPathComponent("ingest"))
        defer { ingest.stop() }
        let registry = try BenchServer(executable: "vf-registry", home: work.appendingPathComponent("registry"))
        defer { registry.stop() }
        let trainer = try BenchServer(executable: "vf-train", home: work.appendingPathComponent("train"),
                                      arguments: ["--ingest", "127.0.0.1:\(ingest.port)", "--registry", "127.0.0.1:\(registry.port)"])
        defer { trainer.stop() }
        let datasets = try DatasetClient(address: "127.0.0.1:\(ingest.port)", environment: [:])
        let jobs = try TrainingClient(address: "127.0.0.1:\(trainer.port)", environment: [:])
        let models = try RegistryClient(address: "127.0.0.1:\(registry.port)", environment: [:])

        start = clock.now
        let imported = try await datasets.importDataset(path: folder, name: "fashion-mnist", format: .idx, task: .classification)
        let importSeconds = (clock.now - start).seconds
        log(String(format: "imported fashion-mnist@%d in %.1f s", imported.version.version, importSeconds))
        let yaml = try String(contentsOfFile: config, encoding: .utf8)
        let (job, servicePeak) = try await trainer.samplingPeak { () async throws -> Visionfleet_V1_Job in
            let submitted = try await jobs.submit(.with {
                $0.configYaml = yaml; $0.overrides = overrides; $0.modelName = "fashion-bench"; $0.aliases = ["production"]
                $0.dataset = .with { $0.name = "fashion-mnist"; $0.version = imported.version.version }
            })
            try await jobs.watch(submitted.id) { event in
                if let line = JobText.line(event) { log("  \(line)") }
                return true
            }
            return try await jobs.job(submitted.id)
        }
        let serviceWall = (clock.now - start).seconds
        guard job.state == .succeeded else { throw ValidationError("job \(job.id) ended \(JobText.state(job.state)): \(job.failureReason)") }
        let published = try await models.version(.with { $0.name = "fashion-bench"; $0.alias = "production" })
        let serviceTop1 = published.metrics.first { $0.name == "top1" }?.value ?? -1
        log(String(format: "service: top-1 %.4f, %.1f images/s, wall %.1f s (import + train + publish), vf-train peak RSS %.0f MiB, worker %.0f MiB",
                    serviceTop1, job.trainImagesPerSecond, serviceWall, servicePeak, Double(job.peakRssBytes) / 1_048_576))

        let localTop1 = local.metrics["top1"] ?? 0
        let object: [String: Any] = [
            "train_images": sets.train.count, "epochs": epochs,
            "service_images_per_s": job.trainImagesPerSecond.rounded(toPlaces: 1), "local_images_per_s": local.trainImagesPerSecond.rounded(toPlaces: 1),
            "overhead_pct": ((local.trainImagesPerSecond - job.trainImagesPerSecond) / local.trainImagesPerSecond * 100).rounded(toPlaces: 2),
            "service_top1": serviceTop1, "local_top1": localTop1, "top1_equal": serviceTop1 == localTop1,
            "service_wall_s": serviceWall.rounded(toPlaces: 1), "local_wall_s": localWall.rounded(toPlaces: 1), "import_s": importSeconds.rounded(toPlaces: 1),
            "service_rss_peak_mib": servicePeak.rounded(toPlaces: 1), "worker_peak_rss_mib": (Double(job.peakRssBytes) / 1_048_576).rounded(toPlaces: 1),
            "published": "fashion-bench@\(published.version)",
        ]
        if json { try JSONLine.print(object) } else { for key in object.keys.sorted() { print("\(key)\t\(object[key]!)") } }
    }

    /// `train-*` and `t10k-*` IDX files (uncompressed) and `classes.txt`.
    static func writeIDX(_ sets: (train: ClassificationSet, test: ClassificationSet), to folder: URL) throws {
        try sets.train.writeIDX(stem: "train", to: folder)
        try sets.test.writeIDX(stem: "t10k", to: folder)
        try (sets.train.classNames.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("classes.txt"), atomically: true, encoding: .utf8)
    }
}
