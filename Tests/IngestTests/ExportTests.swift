import FleetProtos
import FleetRPC
import FleetStore
import Foundation
import IngestService
import ServiceRuntime
import VisionData
import TestSupport
import XCTest

/// ExportDataset as a tar stream, re-imported; GenerateSynthetic; the tar codec itself.
final class ExportTests: XCTestCase {
    func testExportThenReimportGivesTheSameDigestInEveryFormat() async throws {
        let h = try await IngestHarness.start()
        let (shapes, _) = try Fixtures.shapes(.coco, count: 20)
        let detection = try await h.client.importDataset(path: shapes, name: "det", format: .coco)
        let (classes, _) = try Fixtures.classes(.imagefolder)
        let classification = try await h.client.importDataset(path: classes, name: "cls", format: .imageFolder)
        let cases: [(String, Visionfleet_V1_DatasetFormat)] = [
            ("det", .coco), ("det", .yolo), ("det", .voc), ("det", .labelStudio),
            ("cls", .imageFolder), ("cls", .csv), ("cls", .labelStudio),
        ]
        for (name, format) in cases {
            let original = name == "det" ? detection.version : classification.version
            let out = Fixtures.temp("export-\(format)")
            let files = try await h.client.exportDataset(.with { $0.name = name; $0.version = 1 }, format: format, to: out)
            XCTAssertEqual(files.filter { $0.hasSuffix(".png") }.count, Int(original.imageCount), "\(name) \(format)")
            let again = try await h.client.importDataset(path: out, name: "\(name)-again-\(format)", format: format)
            XCTAssertTrue(again.errors.isEmpty, "\(format): \(again.errors)")
            XCTAssertEqual(again.version.manifestDigest, original.manifestDigest, "\(name) exported as \(format) and re-imported")
            XCTAssertEqual(again.version.splitCounts, original.splitCounts, "\(format)")
            XCTAssertEqual(again.blobsDeduplicated, original.imageCount, "\(format): every image is already stored")
        }
        // Annotations only; a format that cannot carry the task's labels; unknown versions.
        let bare = try await h.client.exportDataset(.with { $0.name = "det" }, format: .coco, to: Fixtures.temp("bare"), includeImages: false)
        XCTAssertEqual(bare.sorted(), ["annotations/instances_train.json", "annotations/instances_val.json"])
        let wrong = await assertRPCError(.invalidArgument) {
            try await h.client.exportDataset(.with { $0.name = "cls" }, format: .coco, to: Fixtures.temp("wrong"))
        }
        XCTAssertEqual(wrong?.metadata.values(for: "vf-field").first, "format")
        _ = await assertRPCError(.notFound) {
            try await h.client.exportDataset(.with { $0.name = "det"; $0.version = 9 }, format: .coco, to: Fixtures.temp("none"))
        }
        XCTAssertTrue(h.stagingFiles.isEmpty, "export folders are removed: \(h.stagingFiles)")
        await h.stop()
    }

    func testGenerateSyntheticCommitsADeterministicVersion() async throws {
        let h = try await IngestHarness.start()
        let first = try await h.client.generateSynthetic(name: "shapes", count: 40, imageSize: 64, seed: 5)
        XCTAssertEqual(first.version.imageCount, 40)
        XCTAssertEqual(first.version.categories.map(\.name), ShapesGenerator.classNames)
        XCTAssertEqual(first.version.splitCounts["val"], 4)
        XCTAssertGreaterThan(first.version.boxStats.count, 40)
        let again = try await h.client.generateSynthetic(name: "shapes", count: 40, imageSize: 64, seed: 5)
        XCTAssertTrue(again.reusedVersion)
        XCTAssertEqual(again.version.version, 1)
        XCTAssertEqual(again.blobsDeduplicated, 40)
        let other = try await h.client.generateSynthetic(name: "shapes", count: 40, imageSize: 64, seed: 6)
        XCTAssertEqual(other.version.version, 2)
        // The images are the generator's, byte for byte decodable, with its boxes.
        let items = try await h.client.items(.with { $0.name = "shapes"; $0.version = 1 })
        let (image, boxes) = ShapesGenerator(size: 64).sample(seed: 5, index: 0)
        let item0 = try XCTUnwrap(items.first { $0.fileName == "shapes/000001.png" })
        XCTAssertEqual(item0.annotations.count, boxes.count)
        let hasher = SHA256Stream()
        hasher.update(try ImageCodec.encodePNG(image, name: "x"))
        XCTAssertEqual(item0.blobDigest, hasher.finish().description)
        let bad = await assertRPCError(.invalidArgument) { try await h.client.generateSynthetic(name: "shapes", count: 0) }
        XCTAssertEqual(bad?.metadata.values(for: "vf-field").first, "count")
        _ = try await h.client.importDataset(path: try Fixtures.classes(.imagefolder).0, name: "cls", format: .imageFolder)
        _ = await assertRPCError(.invalidArgument) { try await h.client.generateSynthetic(name: "cls", count: 3) }
        await h.stop()
    }

    func testTarRoundTripWithLongNamesAndOddChunking() throws {
        let folder = Fixtures.temp("tar")
        let long = String(repeating: "deep/", count: 40) + "file.bin"
        let entries: [(String, Data)] = [("a.txt", Data("hello".utf8)), ("sub/b.bin", Data((0..<1000).map { UInt8($0 % 251) })),
                                         (long, Data(count: 513)), ("empty", Data())]
        var archive = Data()
        for (path, data) in entries {
            archive.append(try TarHeader.file(path: path, size: Int64(data.count)))
            archive.append(data)
            archive.append(TarHeader.padding(after: Int64(data.count)))
        }
        archive.append(TarHeader.end)
        let extractor = TarExtractor(folder: folder)
        var i = 0, step = 1
        while i < archive.count {
            try extractor.feed(archive.subdata(in: i..<min(i + step, archive.count)))
            i += step
            step = step * 3 % 1021 + 1
        }
        try extractor.finish()
        XCTAssertEqual(extractor.files, entries.map(\.0))
        for (path, data) in entries { XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent(path)), data, path) }
        // Paths that would leave the folder, a truncated archive, a damaged header.
        XCTAssertThrowsError(try TarHeader.file(path: "../x", size: 1))
        let cut = TarExtractor(folder: Fixtures.temp("cut"))
        try cut.feed(archive.prefix(700))
        XCTAssertThrowsError(try cut.finish())
        var damaged = archive
        damaged[3] ^= 0xFF
        XCTAssertThrowsError(try TarExtractor(folder: Fixtures.temp("bad")).feed(damaged))
        // System tar reads what we write.
        let file = folder.appendingPathComponent("../vf-archive-\(UUID().uuidString).tar")
        try archive.write(to: file)
        let out = Fixtures.temp("systar")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-xf", file.path, "-C", out.path]
        try tar.run()
        tar.waitUntilExit()
        XCTAssertEqual(tar.terminationStatus, 0)
        XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent(long)), Data(count: 513))
    }
}

