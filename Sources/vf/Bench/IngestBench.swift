import ArgumentParser
import FleetProtos
import FleetStore
import Foundation
import ServiceRuntime
import Tensors
import VisionData

/// `vf bench ingest`: writes Fashion-MNIST as PNG files in an ImageFolder tree (outside the
/// timing), imports them into a vf-ingest process through the RPC, streams the train split back
/// with StreamSamples, and — in the same run, as the limit — decodes the same files without the
/// service on both cores.
struct IngestBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ingest", abstract: "Dataset import and StreamSamples throughput.")

    @Option(help: "Fashion-MNIST directory (Debian's dataset-fashion-mnist).") var data = "/usr/share/datasets/fashion-mnist"
    @Option(help: "Use only the first N training and N/6 test images (quick runs; the figure uses all 70,000).") var limit: Int?
    @Option(help: "Keep the PNG tree in this folder (written when absent) instead of a temporary one: repeated runs and profiling.") var tree: String?
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("vf-bench-ingest-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        func log(_ text: String) { if !json { FileHandle.standardError.write(Data((text + "\n").utf8)) } }
        let clock = ContinuousClock()
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

        var sets = try IDXReader.fashionMNIST(directory: URL(fileURLWithPath: data))
        if let limit { sets = (sets.train.prefix(limit), sets.test.prefix(max(1, limit / 6))) }
        let tree = self.tree.map { URL(fileURLWithPath: $0) } ?? work.appendingPathComponent("fashion")
        let files = try Self.existingTree(at: tree, expected: sets) ?? Self.writeTree(sets, to: tree)
        let bytes = files.reduce(Int64(0)) { $0 + $1.size }
        log("wrote \(files.count) PNG files (\(bytes / 1024) KiB) to \(tree.path)")

        // The limit: read and decode every file, on both cores — timed on a second pass, after a
        // first one has brought the files into the page cache (the import finds them there too),
        // so that it measures decoding and not a cold disk.
        _ = Self.decodeAll(files.map(\.url))
        var start = clock.now
        let failures = Self.decodeAll(files.map(\.url))
        let decodeRate = Double(files.count) / seconds(clock.now - start)
        guard failures == 0 else { throw ValidationError("\(failures) files did not decode") }
        log(String(format: "decode limit (read + PNG decode, %d threads): %.0f images/s", Parallel.threads, decodeRate))

        let server = try BenchServer(executable: "vf-ingest", home: work.appendingPathComponent("store"))
        defer { server.stop() }
        let client = try DatasetClient(address: "127.0.0.1:\(server.port)", environment: [:])
        start = clock.now
        let (response, peak) = try await server.samplingPeak {
            try await client.importDataset(path: tree, name: "fashion", format: .imageFolder, task: .classification)
        }
        let importSeconds = seconds(clock.now - start)
        guard response.version.imageCount == Int64(files.count) else {
            throw ValidationError("imported \(response.version.imageCount) of \(files.count) images: \(response.errors.prefix(3))")
        }
        log(String(format: "import: %d images in %.1f s: %.0f images/s, %.1f MiB/s; vf-ingest peak RSS %.0f MiB", files.count, importSeconds,
                   Double(files.count) / importSeconds, Double(bytes) / 1_048_576 / importSeconds, peak))

        start = clock.now
        var streamed = 0
        try await client.streamSamples(.with { $0.name = "fashion"; $0.version = response.version.version }, split: .train, batchItems: 512) { batch in
            streamed += batch.samples.count
            return true
        }
        let streamRate = Double(streamed) / seconds(clock.now - start)
        log(String(format: "StreamSamples train: %d images, %.0f images/s", streamed, streamRate))

        let object: [String: Any] = [
            "images": files.count, "import_images_per_s": (Double(files.count) / importSeconds).rounded(toPlaces: 0),
            "import_mb_per_s": (Double(bytes) / 1_048_576 / importSeconds).rounded(toPlaces: 1),
            "decode_limit_images_per_s": decodeRate.rounded(toPlaces: 0), "import_fraction_of_limit": (Double(files.count) / importSeconds / decodeRate).rounded(toPlaces: 3),
            "stream_images_per_s": streamRate.rounded(toPlaces: 0), "peak_rss_mib": peak.rounded(toPlaces: 1),
        ]
        if json { try JSONLine.print(object) } else { for key in object.keys.sorted() { print("\(key)\t\(object[key]!)") } }
    }

    /// `train/<class>/<n>.png` and `test/<class>/<n>.png`.
    static func writeTree(_ sets: (train: ClassificationSet, test: ClassificationSet), to root: URL) throws -> [(url: URL, size: Int64)] {
        var out: [(URL, Int64)] = []
        for (split, set) in [("train", sets.train), ("test", sets.test)] {
            for name in set.classNames {
                try FileManager.default.createDirectory(at: root.appendingPathComponent("\(split)/\(Self.folder(name))"), withIntermediateDirectories: true)
            }
            for i in 0..<set.count {
                let pixels = Array(set.pixels[(i * set.imageSize)..<((i + 1) * set.imageSize)])
                let png = try ImageCodec.encodePNG(PixelImage(width: set.width, height: set.height, channels: set.channels, pixels: pixels))
                let url = root.appendingPathComponent("\(split)/\(Self.folder(set.classNames[Int(set.labels[i])]))/\(i).png")
                try png.write(to: url)
                out.append((url, Int64(png.count)))
            }
        }
        return out
    }

    /// The files of a tree written by an earlier run, when it holds as many images as `sets`.
    static func existingTree(at root: URL, expected sets: (train: ClassificationSet, test: ClassificationSet)) throws -> [(url: URL, size: Int64)]? {
        guard FileManager.default.fileExists(atPath: root.path) else { return nil }
        let files = try FolderWalker.files(under: root.standardizedFileURL.path).filter { $0.path.hasSuffix(".png") }
        guard files.count == sets.train.count + sets.test.count else {
            throw ValidationError("\(root.path) holds \(files.count) PNG files, not \(sets.train.count + sets.test.count): remove it or pick another --tree")
        }
        return files.map { (root.appendingPathComponent($0.path), $0.size) }
    }

    static func folder(_ className: String) -> String { className.replacingOccurrences(of: "/", with: "-") }

    /// Reads and decodes every file on all cores; returns how many failed.
    static func decodeAll(_ urls: [URL]) -> Int {
        var failed = [Int](repeating: 0, count: Parallel.threads)
        failed.withUnsafeMutableBufferPointer { counts in
            let counts = counts
            Parallel.forEachChunk(urls.count) { chunk, range in
                for i in range {
                    guard let data = try? Data(contentsOf: urls[i]), (try? ImageCodec.decode(data, name: urls[i].lastPathComponent)) != nil else {
                        counts[chunk] += 1
                        continue
                    }
                }
            }
        }
        return failed.reduce(0, +)
    }
}
