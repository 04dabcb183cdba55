import FleetProtos
import FleetRPC
import FleetStore
import Foundation
import IngestService
import ServiceRuntime
import VisionData
import TestSupport
import XCTest

/// ImportDataset over the real RPC path: every format, strict and lenient, dedup, identical
/// re-imports, bad streams, and the training feed.
final class ImportTests: XCTestCase {
    func testEveryFormatImports() async throws {
        let h = try await IngestHarness.start()
        let detection: [(DatasetFormat, Visionfleet_V1_DatasetFormat)] = [(.coco, .coco), (.yolo, .yolo), (.voc, .voc), (.labelstudio, .labelStudio)]
        for (local, wire) in detection {
            let (url, dataset) = try Fixtures.shapes(local)
            let r = try await h.client.importDataset(path: url, name: "det-\(local.rawValue)", format: wire)
            XCTAssertEqual(r.version.imageCount, Int64(dataset.images.count), local.rawValue)
            XCTAssertEqual(r.version.boxStats.count, Int64(dataset.images.reduce(0) { $0 + $1.boxes.count }), local.rawValue)
            XCTAssertEqual(Set(r.version.categories.map(\.name)), Set(ShapesGenerator.classNames), local.rawValue)
            XCTAssertTrue(r.errors.isEmpty, "\(local.rawValue): \(r.errors)")
            let d = try await h.client.dataset("det-\(local.rawValue)")
            XCTAssertEqual(d.task, .detection)
        }
        let classification: [(DatasetFormat, Visionfleet_V1_DatasetFormat)] = [(.imagefolder, .imageFolder), (.csv, .csv), (.idx, .idx)]
        for (local, wire) in classification {
            let (url, dataset) = try Fixtures.classes(local)
            let r = try await h.client.importDataset(path: url, name: "cls-\(local.rawValue)", format: wire)
            XCTAssertEqual(r.version.imageCount, Int64(dataset.images.count), local.rawValue)
            XCTAssertEqual(r.version.classCounts.values.reduce(0, +), Int64(dataset.images.count), local.rawValue)
            XCTAssertEqual(r.version.splitCounts["val"], 3, "\(local.rawValue): one of five per class held out")
            let items = try await h.client.items(.with { $0.name = "cls-\(local.rawValue)" })
            XCTAssertTrue(items.allSatisfy { $0.classID >= 0 && $0.annotations.isEmpty }, local.rawValue)
        }
        XCTAssertTrue(h.stagingFiles.isEmpty)
        await h.stop()
    }

    /// A version lists its items in the files' natural order (IDX's `stem#9` before `stem#10`,
    /// so the order of the IDX file itself), and an IDX folder's `classes.txt` names the classes.
    func testItemsInNaturalOrderAndIDXClassNames() async throws {
        let h = try await IngestHarness.start()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vf-idx-order-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        for (stem, count) in [("train", 12), ("t10k", 3)] {
            let pixels = (0..<(count * 16)).map { UInt8(($0 * 7 + (stem == "train" ? 0 : 100)) % 256) }
            try ClassificationSet(pixels: pixels, labels: (0..<count).map { Int32($0 % 3) }, count: count, channels: 1, height: 4, width: 4,
                                  classNames: ["cat", "dog", "bird"]).writeIDX(stem: stem, to: folder)
        }
        try "cat\ndog\nbird\n".write(to: folder.appendingPathComponent("classes.txt"), atomically: true, encoding: .utf8)
        let r = try await h.client.importDataset(path: folder, name: "ordered", format: .idx)
        XCTAssertEqual(r.version.categories.map(\.name), ["cat", "dog", "bird"])
        let train = try await h.client.items(.with { $0.name = "ordered" }, split: .train)
        XCTAssertEqual(train.map(\.fileName), (0..<12).map { "train-images-idx3-ubyte#\($0)" })
        XCTAssertEqual(train.map(\.classID), (0..<12).map { Int32($0 % 3) })
        await h.stop()
    }

    func testStrictRejectsListingEveryProblemAndLenientKeepsTheRest() async throws {
        let h = try await IngestHarness.start()
        let (url, dataset) = try Fixtures.shapes(.coco, count: 10)
        // Three bad items: a corrupt image, a truncated one, and a box outside its image.
        try Data("not a png at all".utf8).write(to: try Fixtures.find(url, dataset.images[1].file))
        let truncated = try Fixtures.find(url, dataset.images[2].file)
        let png = try Data(contentsOf: truncated)
        try png.prefix(png.count / 2).write(to: truncated)
        let annotations = url.appendingPathComponent("annotations.json")
        var coco = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: annotations)) as? [String: Any])
        var anns = try XCTUnwrap(coco["annotations"] as? [[String: Any]])
        let victim = try XCTUnwrap(anns.firstIndex { ($0["image_id"] as? Int) == dataset.images[5].id })
        anns[victim]["bbox"] = [50.0, 50.0, 40.0, 40.0]
        coco["annotations"] = anns
        try JSONSerialization.data(withJSONObject: coco).write(to: annotations)

        let error: RPCError? = await assertRPCError(.invalidArgument) {
            try await h.client.importDataset(path: annotations, name: "strict", format: .coco)
        }
        let rejection = try XCTUnwrap(error.flatMap(DatasetClient.rejection))
        let items = Set(rejection.errors.map(\.item))
        for image in [1, 2, 5] {
            XCTAssertTrue(items.contains { $0.contains(dataset.images[image].file) },
                          "\(dataset.images[image].file) not listed in \(rejection.errors)")
        }
        _ = await assertRPCError(.notFound) { try await h.client.dataset("strict") }
        XCTAssertTrue(h.stagingFiles.isEmpty, "a rejected import leaves no staging files")

        var options = Visionfleet_V1_ImportOptions()
        options.allowPartial = true
        let lenient = try await h.client.importDataset(path: annotations, name: "lenient", format: .coco, options: options)
        XCTAssertEqual(lenient.version.imageCount, 7)
        XCTAssertEqual(lenient.rejectedItems, 3)
        XCTAssertEqual(lenient.version.warnings.count, lenient.errors.count)
        await h.stop()
    }

    func testDuplicatesStoredOnceAndIdenticalReimportReturnsTheVersion() async throws {
        let h = try await IngestHarness.start()
        let (url, dataset) = try Fixtures.classes(.imagefolder)
        // A second copy of one image under another name in the same class.
        let source = try Fixtures.find(url, dataset.images[0].file)
        let copy = source.deletingLastPathComponent().appendingPathComponent("copy.png")
        try FileManager.default.copyItem(at: source, to: copy)
        let first = try await h.client.importDataset(path: url, name: "dup", format: .imageFolder)
        XCTAssertEqual(first.version.imageCount, 16)
        XCTAssertEqual(first.blobsDeduplicated, 1)
        XCTAssertFalse(first.reusedVersion)
        let again = try await h.client.importDataset(path: url, name: "dup", format: .imageFolder)
        XCTAssertTrue(again.reusedVersion)
        XCTAssertEqual(again.version.version, first.version.version)
        XCTAssertEqual(again.version.manifestDigest, first.version.manifestDigest)
        XCTAssertEqual(again.blobsDeduplicated, 16)
        // A changed label is new content: version 2.
        try FileManager.default.removeItem(at: copy)
        let second = try await h.client.importDataset(path: url, name: "dup", format: .imageFolder)
        XCTAssertEqual(second.version.version, 2)
        XCTAssertNotEqual(second.version.manifestDigest, first.version.manifestDigest)
        let versions = try await h.client.versions("dup")
        XCTAssertEqual(versions.map(\.version), [1, 2])
        await h.stop()
    }

    func testStreamSamplesIsStableAndResumable() async throws {
        let h = try await IngestHarness.start()
        let (url, _) = try Fixtures.classes(.imagefolder, perClass: 10)
        _ = try await h.client.importDataset(path: url, name: "feed", format: .imageFolder)
        let ref = Visionfleet_V1_DatasetRef.with { $0.name = "feed"; $0.version = 1 }
        func collect(offset: Int64, batch: Int32) async throws -> [Visionfleet_V1_Sample] {
            var out: [Visionfleet_V1_Sample] = []
            try await h.client.streamSamples(ref, split: .train, offset: offset, batchItems: batch) { b in
                XCTAssertLessThanOrEqual(b.samples.count, Int(batch))
                out += b.samples
                return true
            }
            return out
        }
        let all = try await collect(offset: 0, batch: 7)
        XCTAssertEqual(all.count, 27)
        XCTAssertEqual(all.map(\.index), Array(0..<27))
        for s in all { XCTAssertEqual(SHA256Stream.digest(of: s.image).description, s.item.blobDigest) }
        XCTAssertTrue(all.allSatisfy { $0.item.split == .train })
        let again = try await collect(offset: 0, batch: 100)
        XCTAssertEqual(again.map(\.item.fileName), all.map(\.item.fileName), "the order is stable")
        let resumed = try await collect(offset: 10, batch: 4)
        XCTAssertEqual(resumed.map(\.item.fileName), Array(all.dropFirst(10)).map(\.item.fileName))
        let items = try await h.client.items(ref, split: .val)
        XCTAssertEqual(items.count, 3)
        _ = await assertRPCError(.notFound) { try await h.client.streamSamples(.with { $0.name = "absent" }) { _ in true } }
        await h.stop()
    }
}

/// Bad streams and limits: each refused with its status and field, nothing left behind.
final class ImportStreamTests: XCTestCase {
    typealias Request = Visionfleet_V1_ImportDatasetRequest

    func raw(_ h: IngestHarness, _ messages: [Request]) async throws -> Visionfleet_V1_ImportDatasetResponse {
        try await h.client.rpc.clientStreaming(ServiceCatalog.DatasetService.importDataset.path) { (w: ClientRequestWriter<Request>) in
            for m in messages { try await w.write(m) }
        }.message
    }

    func header(_ format: Visionfleet_V1_DatasetFormat = .imageFolder, annotation: String = "", maxImageBytes: Int64 = 0) -> Request {
        .with { $0.header = .with { $0.dataset = "s"; $0.format = format; $0.annotationPath = annotation; $0.options.maxImageBytes = maxImageBytes } }
    }

    func chunk(_ path: String, _ data: Data, offset: Int64 = 0, last: Bool = true) -> Request {
        .with { $0.chunk = .with { $0.path = path; $0.data = data; $0.offset = offset; $0.last = last } }
    }

    /// `file_count` only sizes the server's tables: any value — absurd, negative, wrong — imports the same.
    func testFileCountIsOnlyAHint() async throws {
        let h = try await IngestHarness.start()
        let png = try ImageCodec.encodePNG(PixelImage(width: 8, height: 8, channels: 3, fill: 9))
        let other = try ImageCodec.encodePNG(PixelImage(width: 8, height: 8, channels: 3, fill: 200))
        var digests: Set<String> = []
        for (k, count) in [Int64.max, -5, 1, 2].enumerated() {
            var start = header()
            start.header.dataset = "hint\(k)"
            start.header.fileCount = count
            let response = try await raw(h, [start, chunk("a/x.png", png), chunk("b/y.png", other)])
            XCTAssertEqual(response.version.imageCount, 2, "file_count \(count)")
            XCTAssertEqual(response.version.classCounts, ["a": 1, "b": 1], "file_count \(count)")
            digests.insert(response.version.manifestDigest)
        }
        XCTAssertEqual(digests.count, 1, "the same content whatever the hint")
        // Past the first 1,024 files the tables are sized from the hint (capped): an absurd one too.
        var many = [header()]
        many[0].header.dataset = "hint-many"
        many[0].header.fileCount = Int64.max
        for i in 0..<1100 {
            let pixel = UInt8(truncatingIfNeeded: i), row = UInt8(truncatingIfNeeded: i >> 8)
            var image = PixelImage(width: 4, height: 4, channels: 1, fill: pixel)
            image.pixels[0] = row
            many.append(chunk("\(i % 2 == 0 ? "a" : "b")/\(i).png", try ImageCodec.encodePNG(image)))
        }
        let response = try await raw(h, many)
        XCTAssertEqual(response.version.imageCount, 1100)
        XCTAssertEqual(response.blobsDeduplicated, 0)
        await h.stop()
    }

    func testBadStreamsAndLimits() async throws {
        let h = try await IngestHarness.start()
        let png = try ImageCodec.encodePNG(PixelImage(width: 8, height: 8, channels: 3, fill: 9))
        let cases: [(String, RPCError.Code, String, [Request])] = [
            ("no header", .invalidArgument, "header", [chunk("a/x.png", png)]),
            ("unsupported format", .invalidArgument, "header.format", [header(.unspecified)]),
            ("no files", .invalidArgument, "chunk", [header()]),
            ("path escaping the staging folder", .invalidArgument, "chunk.path", [header(), chunk("../x.png", png)]),
            ("wrong offset", .invalidArgument, "chunk.offset", [header(), chunk("a/x.png", png.prefix(10), last: false), chunk("", png.dropFirst(10), offset: 3)]),
            ("stream ends inside a file", .invalidArgument, "chunk.last", [header(), chunk("a/x.png", png.prefix(10), last: false)]),
            ("annotation file never sent", .invalidArgument, "header.annotation_path", [header(.coco, annotation: "ann.json"), chunk("x.png", png)]),
            ("unreadable annotations", .invalidArgument, "annotations", [header(.coco, annotation: "ann.json"), chunk("ann.json", Data("{".utf8))]),
        ]
        for (name, code, field, messages) in cases {
            let error = await assertRPCError(code) { try await self.raw(h, messages) }
            XCTAssertEqual(error?.metadata["vf-field"], field, "\(name): \(error?.message ?? "")")
        }
        // An image over max_image_bytes is an item problem, named with its size.
        let big = try ImageCodec.encodePNG(PixelImage(width: 64, height: 64, channels: 3, fill: 1))
        var noisy = PixelImage(width: 64, height: 64, channels: 3)
        var state: UInt64 = 88172645463325252
        for i in noisy.pixels.indices {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            noisy.pixels[i] = UInt8(truncatingIfNeeded: state)
        }
        let noisyPNG = try ImageCodec.encodePNG(noisy)
        XCTAssertLessThan(big.count, 4000)
        let error = await assertRPCError(.invalidArgument) {
            try await self.raw(h, [self.header(maxImageBytes: 4000), self.chunk("a/small.png", big), self.chunk("a/big.png", noisyPNG)])
        }
        let rejection = try XCTUnwrap(error.flatMap(DatasetClient.rejection))
        XCTAssertEqual(rejection.errors.map(\.item), ["a/big.png"])
        XCTAssertEqual(rejection.errors.first?.field, "size")
        let models = try await h.client.listDatasets()
        XCTAssertTrue(models.isEmpty)
        try await Task.sleep(for: .milliseconds(100))
        XCTAssertTrue(h.stagingFiles.isEmpty, "\(h.stagingFiles)")
        await h.stop()
    }
}
