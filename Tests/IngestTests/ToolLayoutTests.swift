import FleetProtos
import FleetRPC
import Foundation
import IngestService
import ServiceRuntime
import VisionData
import TestSupport
import XCTest

/// Each format in the layouts the real tools write, imported through the real server.
final class ToolLayoutTests: XCTestCase {
    /// Six shapes images (64×64 PNG, boxes in pixels) written wherever a layout wants them.
    struct Sample { var png: Data; var boxes: [LabeledBox] }
    static let samples: [Sample] = (0..<6).map { i in
        let (image, boxes) = ShapesGenerator(size: 64, objects: 1...2).sample(seed: 11, index: i)
        return Sample(png: try! ImageCodec.encodePNG(image, name: "s\(i)"), boxes: boxes)
    }
    static let names = ShapesGenerator.classNames

    func write(_ data: Data, _ path: String, in root: URL) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
    }

    func write(_ text: String, _ path: String, in root: URL) throws { try write(Data(text.utf8), path, in: root) }

    func yoloLines(_ sample: Sample) -> String {
        sample.boxes.map { b in
            "\(b.category) \((b.xmin + b.xmax) / 128) \((b.ymin + b.ymax) / 128) \(b.width / 64) \(b.height / 64)"
        }.joined(separator: "\n") + "\n"
    }

    var boxCount: Int { Self.samples.reduce(0) { $0 + $1.boxes.count } }

    func testYOLODarknetAndLabelStudioLayouts() async throws {
        let h = try await IngestHarness.start()
        // CVAT / Datumaro "YOLO 1.1": obj.data with data/ paths, train.txt, labels beside images.
        let darknet = Fixtures.temp("darknet")
        try write("classes = \(Self.names.count)\ntrain = data/train.txt\nvalid = data/valid.txt\nnames = data/obj.names\nbackup = backup/\n",
                  "obj.data", in: darknet)
        try write(Self.names.joined(separator: "\n") + "\n", "obj.names", in: darknet)
        var train = "", valid = ""
        for (i, s) in Self.samples.enumerated() {
            let sub = i < 4 ? "obj_train_data" : "obj_valid_data"
            try write(s.png, "\(sub)/img\(i).png", in: darknet)
            try write(yoloLines(s), "\(sub)/img\(i).txt", in: darknet)
            if i < 4 { train += "data/\(sub)/img\(i).png\n" } else { valid += "data/\(sub)/img\(i).png\n" }
        }
        try write(train, "train.txt", in: darknet)
        try write(valid, "valid.txt", in: darknet)
        let r1 = try await h.client.importDataset(path: darknet, name: "darknet", format: .yolo)
        XCTAssertEqual(r1.version.imageCount, 6)
        XCTAssertEqual(r1.version.splitCounts, ["train": 4, "val": 2])
        XCTAssertEqual(r1.version.boxStats.count, Int64(boxCount))
        XCTAssertEqual(r1.version.categories.map(\.name), Self.names)

        // Label Studio's YOLO export: classes.txt, notes.json, images/, labels/.
        let studio = Fixtures.temp("ls-yolo")
        try write(Self.names.joined(separator: "\n"), "classes.txt", in: studio)
        let notes = ["categories": Self.names.enumerated().map { ["id": $0.offset, "name": $0.element] }, "info": ["version": "1.0"]] as [String: Any]
        try write(try JSONSerialization.data(withJSONObject: notes), "notes.json", in: studio)
        for (i, s) in Self.samples.enumerated() {
            try write(s.png, "images/a1b2c3d4-img\(i).png", in: studio)
            try write(yoloLines(s), "labels/a1b2c3d4-img\(i).txt", in: studio)
        }
        let r2 = try await h.client.importDataset(path: studio, name: "ls-yolo", format: .yolo)
        XCTAssertEqual(r2.version.imageCount, 6)
        XCTAssertEqual(r2.version.boxStats.count, Int64(boxCount))
        XCTAssertEqual(r2.blobsDeduplicated, 6, "the same images as the darknet import")

        // Ultralytics data.yaml whose `path` is the author's machine.
        let ultra = Fixtures.temp("ultra")
        try write("path: /home/someone/datasets/shapes\ntrain: images/train\nval: images/val\nnames:\n  0: circle\n  1: square\n  2: triangle\n  3: star\n  4: hexagon\n  5: cross\n",
                  "data.yaml", in: ultra)
        for (i, s) in Self.samples.enumerated() {
            let split = i < 5 ? "train" : "val"
            try write(s.png, "images/\(split)/\(i).png", in: ultra)
            try write(yoloLines(s), "labels/\(split)/\(i).txt", in: ultra)
        }
        let r3 = try await h.client.importDataset(path: ultra, name: "ultra", format: .yolo)
        XCTAssertEqual(r3.version.splitCounts, ["train": 5, "val": 1])
        XCTAssertEqual(r3.version.boxStats.count, Int64(boxCount))
        await h.stop()
    }

    func testCOCOWithFolderPrefixesMatchesByBaseNameAndReportsAmbiguity() async throws {
        let h = try await IngestHarness.start()
        let root = Fixtures.temp("coco-prefix")
        var images: [[String: Any]] = [], annotations: [[String: Any]] = []
        for (i, s) in Self.samples.enumerated() {
            try write(s.png, "pics/\(i).png", in: root)
            images.append(["id": i + 10, "file_name": "/mnt/export/job 7/\(i).png", "width": 64, "height": 64])
            for b in s.boxes {
                annotations.append(["id": annotations.count + 1, "image_id": i + 10, "category_id": b.category + 1,
                                    "bbox": [b.xmin, b.ymin, b.width, b.height]])
            }
        }
        let categories = Self.names.enumerated().map { ["id": $0.offset + 1, "name": $0.element] }
        let json = ["images": images, "annotations": annotations, "categories": categories] as [String: Any]
        try write(try JSONSerialization.data(withJSONObject: json), "annotations/instances_default.json", in: root)
        let ok = try await h.client.importDataset(path: root, name: "coco-prefix", format: .coco)
        XCTAssertEqual(ok.version.imageCount, 6)
        XCTAssertEqual(ok.version.boxStats.count, Int64(boxCount))

        // A second 0.png elsewhere makes that name ambiguous: named, not guessed.
        try write(Self.samples[1].png, "other/0.png", in: root)
        let error = await assertRPCError(.invalidArgument) { try await h.client.importDataset(path: root, name: "coco-amb", format: .coco) }
        let problems = try XCTUnwrap(error.flatMap(DatasetClient.rejection)).errors
        XCTAssertEqual(problems.count, 1, "\(problems)")
        XCTAssertTrue(problems[0].message.contains("ambiguous") && problems[0].item.contains("0.png"), "\(problems)")
        await h.stop()
    }

    func testVOCWithPNGsAndSplits() async throws {
        let h = try await IngestHarness.start()
        let root = Fixtures.temp("voc-png")
        for (i, s) in Self.samples.enumerated() {
            try write(s.png, "JPEGImages/\(i).png", in: root)
            // One file names its image, the next leaves filename out (the stem is used).
            var xml = "<annotation>" + (i % 2 == 0 ? "<filename>\(i).png</filename>" : "") + "<size><width>64</width><height>64</height><depth>3</depth></size>"
            for b in s.boxes {
                xml += "<object><name>\(Self.names[b.category])</name><bndbox><xmin>\(b.xmin)</xmin><ymin>\(b.ymin)</ymin><xmax>\(b.xmax)</xmax><ymax>\(b.ymax)</ymax></bndbox></object>"
            }
            try write(xml + "</annotation>", "Annotations/\(i).xml", in: root)
        }
        try write("0\n1\n2\n3\n", "ImageSets/Main/train.txt", in: root)
        try write("4\n5\n", "ImageSets/Main/val.txt", in: root)
        let r = try await h.client.importDataset(path: root, name: "voc-png", format: .voc)
        XCTAssertEqual(r.version.imageCount, 6)
        XCTAssertEqual(r.version.splitCounts, ["train": 4, "val": 2])
        XCTAssertEqual(r.version.boxStats.count, Int64(boxCount))

        // An entity declaration (the start of a billion-laughs bomb) is refused, not expanded.
        try write("<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"xxxxxxxxxx\"><!ENTITY y \"&x;&x;&x;&x;&x;&x;\">]><annotation><filename>&y;</filename></annotation>",
                  "Annotations/0.xml", in: root)
        let error = await assertRPCError(.invalidArgument) { try await h.client.importDataset(path: root, name: "voc-bomb", format: .voc) }
        let problem = try XCTUnwrap(error.flatMap(DatasetClient.rejection)?.errors.first)
        XCTAssertEqual(problem.item, "Annotations/0.xml")
        XCTAssertTrue(problem.message.contains("entity"), problem.message)
        await h.stop()
    }

    func testCVATForImagesOneFileAndPerSubset() async throws {
        let h = try await IngestHarness.start()
        func imageXML(_ i: Int, _ s: Sample, subset: String?) -> String {
            var xml = "<image id=\"\(i)\" name=\"frames/\(i).png\" width=\"64\" height=\"64\"" + (subset.map { " subset=\"\($0)\"" } ?? "") + ">"
            for (k, b) in s.boxes.enumerated() {
                if k % 2 == 0 {
                    xml += "<box label=\"\(Self.names[b.category])\" occluded=\"0\" xtl=\"\(b.xmin)\" ytl=\"\(b.ymin)\" xbr=\"\(b.xmax)\" ybr=\"\(b.ymax)\" z_order=\"0\"></box>"
                } else {
                    xml += "<polygon label=\"\(Self.names[b.category])\" points=\"\(b.xmin),\(b.ymin);\(b.xmax),\(b.ymin);\(b.xmax),\(b.ymax);\(b.xmin),\(b.ymax)\"></polygon>"
                }
            }
            return xml + "</image>"
        }
        let labels = "<meta><task><labels>" + Self.names.map { "<label><name>\($0)</name></label>" }.joined() + "</labels></task></meta>"
        let one = Fixtures.temp("cvat")
        var xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><annotations><version>1.1</version>\(labels)"
        for (i, s) in Self.samples.enumerated() {
            try write(s.png, "images/\(i).png", in: one)
            xml += imageXML(i, s, subset: i < 5 ? "Train" : "Validation")
        }
        try write(xml + "</annotations>", "annotations.xml", in: one)
        let r1 = try await h.client.importDataset(path: one, name: "cvat", format: .cvat)
        XCTAssertTrue(r1.errors.isEmpty, "\(r1.errors)")
        XCTAssertEqual(r1.version.imageCount, 6)
        XCTAssertEqual(r1.version.splitCounts, ["train": 5, "val": 1])
        XCTAssertEqual(r1.version.boxStats.count, Int64(boxCount))
        XCTAssertEqual(r1.version.categories.map(\.name), Self.names)

        // One file per subset, images in images/<subset>/.
        let split = Fixtures.temp("cvat-subsets")
        for (subset, range) in [("train", 0..<4), ("val", 4..<6)] {
            var part = "<annotations><version>1.1</version>\(labels)"
            for i in range {
                try write(Self.samples[i].png, "images/\(subset)/\(i).png", in: split)
                part += imageXML(i, Self.samples[i], subset: nil)
            }
            try write(part + "</annotations>", "\(subset).xml", in: split)
        }
        let r2 = try await h.client.importDataset(path: split, name: "cvat-subsets", format: .cvat)
        XCTAssertEqual(r2.version.splitCounts, ["train": 4, "val": 2])
        XCTAssertEqual(r2.version.boxStats.count, Int64(boxCount))

        // Tags make a classification dataset; an unknown tag label is named.
        let tags = Fixtures.temp("cvat-tags")
        var tagged = "<annotations><version>1.1</version><meta><task><labels><label><name>odd</name></label><label><name>even</name></label></labels></task></meta>"
        for (i, s) in Self.samples.enumerated() {
            try write(s.png, "images/\(i).png", in: tags)
            tagged += "<image id=\"\(i)\" name=\"\(i).png\" width=\"64\" height=\"64\"><tag label=\"\(i % 2 == 0 ? "even" : "odd")\"></tag></image>"
        }
        try write(tagged + "</annotations>", "annotations.xml", in: tags)
        let r3 = try await h.client.importDataset(path: tags, name: "cvat-tags", format: .cvat, task: .classification)
        XCTAssertEqual(r3.version.classCounts, ["odd": 3, "even": 3])
        try write("<annotations><image id=\"0\" name=\"0.png\" width=\"64\" height=\"64\"><box xtl=\"1\" ytl=\"1\" xbr=\"9\" ybr=\"9\"/></image>",
                  "annotations.xml", in: tags)
        _ = await assertRPCError(.invalidArgument) { try await h.client.importDataset(path: tags, name: "cvat-broken", format: .cvat) }
        await h.stop()
    }

    func testLabelStudioJSONMinAndCSVWithUploadURLs() async throws {
        let h = try await IngestHarness.start()
        let root = Fixtures.temp("ls-min")
        var rows: [[String: Any]] = []
        var csv = "annotation_id,annotator,choice,id,image,label\n"
        for (i, s) in Self.samples.enumerated() {
            // Uploads keep their original names; the export adds Label Studio's 8-hex prefix.
            try write(s.png, "photos/shape\(i).png", in: root)
            let regions: [[String: Any]] = s.boxes.map { b in
                ["x": b.xmin / 64 * 100, "y": b.ymin / 64 * 100, "width": b.width / 64 * 100, "height": b.height / 64 * 100,
                 "rotation": 0, "rectanglelabels": [Self.names[b.category]], "original_width": 64, "original_height": 64]
            }
            let image = "/data/upload/3/\(String(format: "%08x", 0xa1b2c300 + i))-shape\(i).png"
            rows.append(["id": i + 1, "image": image, "label": regions, "annotator": "ann@example.com", "annotation_id": i + 100])
            let cell = String(decoding: try JSONSerialization.data(withJSONObject: regions), as: UTF8.self).replacingOccurrences(of: "\"", with: "\"\"")
            csv += "\(i + 100),ann@example.com,,\(i + 1),\(image),\"\(cell)\"\n"
        }
        try write(try JSONSerialization.data(withJSONObject: rows), "export.json", in: root)
        let r1 = try await h.client.importDataset(path: root.appendingPathComponent("export.json"), name: "ls-min", format: .labelStudio)
        XCTAssertTrue(r1.errors.isEmpty, "\(r1.errors)")
        XCTAssertEqual(r1.version.imageCount, 6)
        XCTAssertEqual(r1.version.boxStats.count, Int64(boxCount))
        try FileManager.default.removeItem(at: root.appendingPathComponent("export.json"))
        try write(csv, "project-3-at-2026.csv", in: root)
        let r2 = try await h.client.importDataset(path: root, name: "ls-csv", format: .labelStudio)
        XCTAssertEqual(r2.version.manifestDigest, r1.version.manifestDigest, "CSV and JSON-MIN carry the same labels")

        // Classification choices in JSON-MIN; a reference to a file that was not uploaded is named.
        let cls = Fixtures.temp("ls-choice")
        var choices: [[String: Any]] = []
        for (i, s) in Self.samples.enumerated() {
            try write(s.png, "\(i).png", in: cls)
            choices.append(["id": i + 1, "image": "/data/local-files/?d=batch%201/\(i).png", "choice": i < 3 ? "left" : "right"])
        }
        choices.append(["id": 99, "image": "/data/upload/3/deadbeef-missing.png", "choice": "left"])
        try write(try JSONSerialization.data(withJSONObject: choices), "export.json", in: cls)
        let error = await assertRPCError(.invalidArgument) {
            try await h.client.importDataset(path: cls, name: "ls-choice", format: .labelStudio, task: .classification)
        }
        let problems = try XCTUnwrap(error.flatMap(DatasetClient.rejection)).errors
        XCTAssertEqual(problems.map(\.item), ["task 99 (/data/upload/3/deadbeef-missing.png)"])
        let lenient = try await h.client.importDataset(path: cls, name: "ls-choice", format: .labelStudio, task: .classification,
                                                       options: .with { $0.allowPartial = true })
        XCTAssertEqual(lenient.version.classCounts, ["left": 3, "right": 3])
        await h.stop()
    }
}
