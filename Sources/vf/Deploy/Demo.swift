import ArgumentParser
import FleetProtos
import Foundation
import ServiceRuntime
import VisionData

/// `vf demo`: the three tasks live end to end on this machine — a shapes detector, a
/// Fashion-MNIST classifier and a Fashion-MNIST retrieval model — with pictures of their
/// results and training curves, and `summary.json`.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deploy a detector, a classifier and a retrieval model on bundled data and draw what they do (about 10 minutes on 2 cores).")
    @Option(help: "Folder for the pictures and summary.json.") var out = "demo-out"
    @Flag(help: "Smaller data and fewer epochs (a couple of minutes; weaker models).") var quick = false
    @Option(help: "Fashion-MNIST IDX folder.") var fashionMnist = "/usr/share/datasets/fashion-mnist"
    @OptionGroup var location: FleetHomeOptions
    @OptionGroup var ports: FleetPortOptions

    struct TaskSummary: Encodable {
        var task: String
        var model: String
        var dataset: String
        var metrics: [String: Double]
        var seconds: [String: Double]
        var pictures: [String]
    }

    struct Summary: Encodable {
        var date: String
        var quick: Bool
        var totalSeconds: Double
        var fleetStartSeconds: Double
        var tasks: [TaskSummary]
    }

    func run() async throws {
        let begin = Date()
        let outDir = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        step("starting the fleet")
        let fleet = location.fleet
        let environment = fleet.clientEnvironment(try await ports.up(fleet).state)
        let fleetSeconds = Date().timeIntervalSince(begin)
        let pipeline = DeployPipeline(environment: environment)
        let datasets = try DatasetClient(environment: environment)
        let vision = try VisionClient(environment: environment)
        let training = try TrainingClient(environment: environment)
        var tasks: [TaskSummary] = []

        do {
            // 1. Detection on synthetic shapes.
            step("detection: generating the synthetic shapes dataset")
            var t = Date()
            let synth = try await datasets.generateSynthetic(name: "demo-shapes", count: quick ? 240 : 1000, imageSize: 96, seed: 7,
                                                             options: .with { $0.valFraction = 0.1 })
            var seconds = ["import": Date().timeIntervalSince(t)]
            step("detection: training YOLOX-nano and serving it")
            // The short schedule learns faster with larger steps (AdamW, 22 epochs on 900 images:
            // AP 0.18 at 0.01, 0.36 at 0.02, 0.55 at 0.04, 0.59 at 0.08).
            var result = try await pipeline.trainAndServe(synth.version, request: .init(name: "demo-shapes", task: "detection",
                                                                                         epochs: quick ? 4 : 34, overrides: ["optimizer.lr=0.04"]))
            seconds.merge(result.seconds) { a, _ in a }
            t = Date()
            let detectDir = outDir.appendingPathComponent("detection")
            try FileManager.default.createDirectory(at: detectDir, withIntermediateDirectories: true)
            var pictures: [String] = []
            let heldOut = try await datasets.items(.with { $0.name = "demo-shapes"; $0.version = synth.version.version }, split: .val)
            for item in heldOut.prefix(6) {
                let bytes = try await datasets.blob(item.blobDigest)
                let r = try await vision.detect(.with { $0.model.name = "demo-shapes"; $0.image.encoded = bytes; $0.scoreThreshold = 0.3 })
                let picture = DetectionPicture.draw(try ImageCodec.decode(bytes, name: item.fileName), detections: r.detections)
                let file = detectDir.appendingPathComponent(((item.fileName as NSString).lastPathComponent as NSString).deletingPathExtension + ".png")
                try ImageCodec.encodePNG(picture).write(to: file)
                pictures.append(file.path)
            }
            pictures.append(try await curves(result, training: training, outDir: outDir))
            seconds["predict"] = Date().timeIntervalSince(t)
            tasks.append(summary(result, seconds: seconds, pictures: pictures))
            report(tasks.last!)

            // 2. Classification and 3. retrieval on a Fashion-MNIST subset written as an image folder.
            step("fashion-mnist: writing a class-balanced subset as an image folder")
            t = Date()
            let folder = try fashionFolder(perClass: quick ? 150 : 600, outDir: outDir)
            let imported = try await pipeline.importData(path: folder.path, format: "imagefolder", name: "demo-fashion", task: "classification",
                                                         valFraction: 0.1, seed: 0, lenient: false)
            let importSeconds = Date().timeIntervalSince(t)

            step("classification: training ResNet-20 and serving it")
            result = try await pipeline.trainAndServe(imported.version, request: .init(name: "demo-fashion", task: "classification",
                                                                                        epochs: quick ? 1 : 3))
            seconds = result.seconds
            seconds["import"] = importSeconds
            pictures = [try await curves(result, training: training, outDir: outDir)]
            tasks.append(summary(result, seconds: seconds, pictures: pictures))
            report(tasks.last!)

            step("retrieval: training the embedding model (ArcFace) and serving it with its gallery")
            result = try await pipeline.trainAndServe(imported.version, request: .init(name: "demo-fashion-search", task: "retrieval",
                                                                                        epochs: quick ? 1 : 3))
            seconds = result.seconds
            t = Date()
            let queries = try await datasets.items(.with { $0.name = "demo-fashion"; $0.version = imported.version.version }, split: .val)
            let names = Dictionary(imported.version.categories.map { ($0.id, $0.name) }) { a, _ in a }
            var rows: [RetrievalGrid.Row] = []
            for (i, item) in queries.enumerated() where i % max(1, queries.count / 6) == 0 && rows.count < 6 {
                let bytes = try await datasets.blob(item.blobDigest)
                let r = try await vision.search(.with { $0.model.name = "demo-fashion-search"; $0.image.encoded = bytes; $0.k = 6 })
                var hits: [RetrievalGrid.Tile] = []
                for h in r.hits {
                    let image = try ImageCodec.decode(try await datasets.blob(h.blobDigest), name: h.itemID)
                    hits.append(.init(image: image, caption: String(format: "%.3f", h.score), match: h.label == names[item.classID]))
                }
                rows.append(.init(query: .init(image: try ImageCodec.decode(bytes, name: item.fileName), caption: names[item.classID] ?? "?",
                                               match: nil), hits: hits))
            }
            let grid = outDir.appendingPathComponent("retrieval-grid.png")
            try ImageCodec.encodePNG(RetrievalGrid.draw(rows, title: "query | 6 nearest gallery images (green: same class)")).write(to: grid)
            seconds["predict"] = Date().timeIntervalSince(t)
            pictures = [grid.path, try await curves(result, training: training, outDir: outDir)]
            tasks.append(summary(result, seconds: seconds, pictures: pictures))
            report(tasks.last!)
        } catch let failure as DeployPipeline.Failure {
            FileHandle.standardError.write(Data("\(failure)\n".utf8))
            throw ExitCode(1)
        }

        let total = Date().timeIntervalSince(begin)
        let summary = Summary(date: ISO8601DateFormatter().string(from: Date()), quick: quick, totalSeconds: total,
                              fleetStartSeconds: fleetSeconds, tasks: tasks)
        try JSONLine.encoder(pretty: true).encode(summary).write(to: outDir.appendingPathComponent("summary.json"))
        print(String(format: "demo done in %.0f s: pictures and summary.json in %@; the models stay served (vf status, vf down)", total, out))
    }

    private func step(_ text: String) { FileHandle.standardError.write(Data("\n== \(text)\n".utf8)) }

    private func summary(_ r: DeployPipeline.Result, seconds: [String: Double], pictures: [String]) -> TaskSummary {
        TaskSummary(task: r.task, model: "\(r.model)@\(r.version)", dataset: r.dataset, metrics: r.metrics, seconds: seconds, pictures: pictures)
    }

    private func report(_ s: TaskSummary) {
        let metrics = MetricText.line(s.metrics, task: s.task)
        let times = s.seconds.keys.sorted().map { String(format: "%@ %.1fs", $0, s.seconds[$0]!) }.joined(separator: ", ")
        print("\(s.task): \(s.model) live; validation \(metrics); \(times)")
    }

    private func curves(_ r: DeployPipeline.Result, training: TrainingClient, outDir: URL) async throws -> String {
        let file = outDir.appendingPathComponent("\(r.task)-curves.png")
        try await TrainPlot.plot(r.job, client: training, to: file)
        return file.path
    }

    /// `perClass` training images of each class (and a tenth as many test images) as PNGs.
    private func fashionFolder(perClass: Int, outDir: URL) throws -> URL {
        let (train, _) = try IDXReader.fashionMNIST(directory: URL(fileURLWithPath: fashionMnist))
        let root = outDir.appendingPathComponent("data/fashion-mnist-\(perClass)")
        var taken = [Int](repeating: 0, count: train.classNames.count)
        for i in 0..<train.count {
            let label = Int(train.labels[i])
            guard taken[label] < perClass else { continue }
            taken[label] += 1
            let dir = root.appendingPathComponent(train.classNames[label].replacingOccurrences(of: "/", with: "-"))
            if taken[label] == 1 { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
            let file = dir.appendingPathComponent(String(format: "%05d.png", i))
            if FileManager.default.fileExists(atPath: file.path) { continue }
            let pixels = Array(train.pixels[i * train.imageSize..<(i + 1) * train.imageSize])
            try ImageCodec.encodePNG(PixelImage(width: train.width, height: train.height, channels: 1, pixels: pixels)).write(to: file)
            if taken.allSatisfy({ $0 >= perClass }) { break }
        }
        return root
    }
}
