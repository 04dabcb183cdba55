import FleetProtos
import FleetRPC
import FleetStore
import Foundation
import IngestService
import ServiceRuntime
import VisionData
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

        let error: RPCError? = await assertIngestError(.invalidArgument) {
            try await h.client.importDataset(path: annotations, name: "strict", format: .coco)
        }
        let rejection = try XCTUnwrap(error.flatMap(DatasetClient.rejection))
        let items = Set(rejection.errors.map(\.item))
        for image in [1, 2, 5] {
            XCTAssertTrue(items.contains { $0.contains(dataset.images[image].file) },
                          "\(dataset.images[image].file) not listed in \(rejection.errors)")
        }
        _ = await assertIngestError(.notFound) { try await h.client.dataset("strict") }
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
        _ = await assertIngestError(.notFound) { try await h.client.streamSamples(.with { $0.name = "absent" }) { _ in true } }
        await h.stop()
    }
}
