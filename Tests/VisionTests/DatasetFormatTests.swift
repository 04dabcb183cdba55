import Foundation
import XCTest
@testable import VisionData

final class DatasetFormatTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("vf-formats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Three real image files of different sizes and kinds, two categories, boxes and labels.
    func sourceDataset() throws -> LabeledDataset {
        let root = dir.appendingPathComponent("source")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sub"), withIntermediateDirectories: true)
        let specs: [(String, Int, Int, Int)] = [("a.png", 40, 30, 3), ("sub/b.jpg", 32, 32, 3), ("c.png", 50, 20, 1)]
        var images: [DatasetImage] = []
        for (i, (file, w, h, c)) in specs.enumerated() {
            let url = root.appendingPathComponent(file)
            try ImageCodec.write(ImageCodecTests.pattern(width: w, height: h, channels: c, seed: i), to: url)
            images.append(DatasetImage(id: i + 1, file: file, width: w, height: h, digest: SHA256Digest.of(try Data(contentsOf: url)),
                                       split: i == 2 ? "val" : "train"))
        }
        images[0].label = 10
        images[0].boxes = [LabeledBox(xmin: 2, ymin: 3, xmax: 20.5, ymax: 28, category: 10),
                           LabeledBox(xmin: 25, ymin: 1, xmax: 40, ymax: 12.25, category: 20)]
        images[1].label = 20
        images[1].boxes = [LabeledBox(xmin: 0, ymin: 0, xmax: 32, ymax: 32, category: 20)]
        images[2].label = 10
        return LabeledDataset(root: root, categories: [DatasetCategory(id: 10, name: "cat"), DatasetCategory(id: 20, name: "dog sled")],
                              images: images)
    }

    /// What survives any format: per image (by content digest) the label name and boxes by name.
    struct Summary: Equatable, CustomStringConvertible {
        var label: String?
        var boxes: [String]
        var size: String
        var description: String { "\(label ?? "-") \(size) \(boxes)" }
    }

    func summarise(_ d: LabeledDataset, labels: Bool, boxes: Bool) -> [String: Summary] {
        var out: [String: Summary] = [:]
        for image in d.images {
            let b: [String] = boxes ? image.boxes.map { (box: LabeledBox) -> String in
                let name = d.categoryName(box.category) ?? "?"
                return name + String(format: " %.3f %.3f %.3f %.3f", box.xmin, box.ymin, box.xmax, box.ymax)
            }.sorted() : []
            out[image.digest] = Summary(label: labels ? image.label.flatMap(d.categoryName) : nil, boxes: b,
                                        size: "\(image.width)x\(image.height)")
        }
        return out
    }

    func testEveryFormatRoundTripsThroughItsWriterAndReader() throws {
        let source = try sourceDataset()
        let cases: [(DatasetFormat, labels: Bool, boxes: Bool)] = [
            (.coco, false, true), (.yolo, false, true), (.voc, false, true), (.labelstudio, true, true),
            (.imagefolder, true, false), (.csv, true, false),
        ]
        for (format, labels, boxes) in cases {
            let out = dir.appendingPathComponent("out-\(format.rawValue)")
            try format.write(source, to: out)
            let read = try format.read(out, options: .init(verifyPixels: true))
            XCTAssertEqual(read.problems, [], "\(format)")
            XCTAssertEqual(read.dataset.images.count, 3, "\(format)")
            XCTAssertEqual(summarise(read.dataset, labels: labels, boxes: boxes), summarise(source, labels: labels, boxes: boxes), "\(format)")
            if labels || format == .voc || format == .yolo {
                XCTAssertEqual(Set(read.dataset.categories.map(\.name)), ["cat", "dog sled"], "\(format)")
            }
        }
        // Splits survive where the format has them.
        let yolo = try DatasetFormat.yolo.read(dir.appendingPathComponent("out-yolo"))
        XCTAssertEqual(yolo.dataset.images.compactMap(\.split).sorted(), ["train", "train", "val"])
        let voc = try DatasetFormat.voc.read(dir.appendingPathComponent("out-voc"))
        XCTAssertEqual(voc.dataset.images.compactMap(\.split).sorted(), ["train", "train", "val"])
    }

    func testIDXRoundTripAndConversionToImageFolder() throws {
        var images: [DatasetImage] = []
        for i in 0..<6 {
            let p = ImageCodecTests.pattern(width: 28, height: 28, channels: 1, seed: i)
            images.append(DatasetImage(id: i + 1, file: "x\(i)", width: 28, height: 28, label: i % 3, split: i < 4 ? "train" : "test",
                                       embedded: p))
        }
        let source = LabeledDataset(root: dir, categories: ["shirt", "shoe", "bag"].enumerated().map { DatasetCategory(id: $0.offset, name: $0.element) },
                                    images: images)
        let idxDir = dir.appendingPathComponent("idx")
        try DatasetFormat.idx.write(source, to: idxDir)
        let read = try DatasetFormat.idx.read(idxDir)
        XCTAssertEqual(read.problems, [])
        XCTAssertEqual(read.dataset.categories.map(\.name), ["shirt", "shoe", "bag"])
        XCTAssertEqual(read.dataset.images.map(\.embedded), images.map(\.embedded))
        XCTAssertEqual(read.dataset.images.map(\.label), images.map(\.label))
        XCTAssertEqual(read.dataset.images.map(\.split), images.map(\.split))
        // Embedded pixels are written out as PNG files by other writers.
        let folder = dir.appendingPathComponent("folder")
        try DatasetFormat.imagefolder.write(read.dataset, to: folder)
        let back = try DatasetFormat.imagefolder.read(folder)
        XCTAssertEqual(back.dataset.images.count, 6)
        let pixels = try Set(back.dataset.images.map { try back.dataset.pixels(of: $0).pixels })
        XCTAssertEqual(pixels, Set(images.map { $0.embedded!.pixels }))
        XCTAssertEqual(Set(back.dataset.images.compactMap(\.split)), ["train", "test"])
    }

    func testCOCOReaderListsEveryBadItemAndKeepsTheGoodOnes() throws {
        let root = dir.appendingPathComponent("coco")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("images"), withIntermediateDirectories: true)
        for name in ["ok.png", "oob.png", "zero.png", "unknown.png", "dup.png"] {
            try ImageCodec.write(ImageCodecTests.pattern(width: 20, height: 10, channels: 3), to: root.appendingPathComponent("images/\(name)"))
        }
        try Data("not an image".utf8).write(to: root.appendingPathComponent("images/corrupt.png"))
        let json: [String: Any] = [
            "categories": [["id": 1, "name": "car"]],
            "images": [
                ["id": 1, "file_name": "ok.png", "width": 20, "height": 10],
                ["id": 2, "file_name": "missing.png", "width": 20, "height": 10],
                ["id": 3, "file_name": "oob.png", "width": 20, "height": 10],
                ["id": 4, "file_name": "zero.png", "width": 20, "height": 10],
                ["id": 5, "file_name": "unknown.png", "width": 20, "height": 10],
                ["id": 1, "file_name": "dup.png", "width": 20, "height": 10],
                ["id": 6, "file_name": "corrupt.png"],
                ["id": 7, "file_name": "dup.png", "width": 99, "height": 10],
            ],
            "annotations": [
                ["id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]],
                ["id": 2, "image_id": 3, "category_id": 1, "bbox": [10, 2, 30, 5]],
                ["id": 3, "image_id": 4, "category_id": 1, "bbox": [3, 3, 0, 4]],
                ["id": 4, "image_id": 5, "category_id": 9, "bbox": [1, 1, 2, 2]],
                ["id": 5, "image_id": 42, "category_id": 1, "bbox": [1, 1, 2, 2]],
            ],
        ]
        try JSONSerialization.data(withJSONObject: json).write(to: root.appendingPathComponent("annotations.json"))
        let result = try DatasetFormat.coco.read(root)
        XCTAssertEqual(result.dataset.images.map(\.id), [1])
        XCTAssertEqual(result.dataset.images[0].boxes, [LabeledBox(xmin: 1, ymin: 1, xmax: 6, ymax: 6, category: 1)])
        let kinds = result.problems.map(\.kind)
        for kind: DatasetProblem.Kind in [.missingImage, .boxOutOfBounds, .zeroAreaBox, .unknownCategory, .duplicateId, .unreadableImage] {
            XCTAssertTrue(kinds.contains(kind), "no \(kind) in \(result.problems)")
        }
        XCTAssertTrue(result.problems.contains { $0.field == "image_id" && $0.reason.contains("42") }, "\(result.problems)")
        XCTAssertTrue(result.problems.contains { $0.item.contains("image 7") && $0.field == "width/height" })
        XCTAssertTrue(result.problems.contains { $0.item.contains("missing.png") && $0.reason.contains("not found") })
        XCTAssertEqual(result.problems.count, 8, "\(result.problems)")
    }

    func testCOCOFileThatIsNotJSONThrowsNamingIt() throws {
        let file = dir.appendingPathComponent("broken.json")
        try Data("{ nope".utf8).write(to: file)
        XCTAssertThrowsError(try DatasetFormat.coco.read(file)) { error in
            guard case DatasetError.corrupt(let item, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(item, "broken.json")
        }
        XCTAssertThrowsError(try DatasetFormat.coco.read(dir.appendingPathComponent("absent.json"))) { error in
            XCTAssertEqual(error as? DatasetError, .missingFile(path: dir.appendingPathComponent("absent.json").path))
        }
    }

    func testYOLOVOCListAndLabelStudioReadersReportBadItems() throws {
        // YOLO: an unknown class index, a malformed line, a box outside, a good image.
        let yolo = dir.appendingPathComponent("yolo")
        for name in ["good", "badclass", "badline", "outside"] {
            try ImageCodec.write(ImageCodecTests.pattern(width: 16, height: 16, channels: 3), to: yolo.appendingPathComponent("images/train/\(name).png"))
        }
        func label(_ name: String, _ text: String) throws {
            let url = yolo.appendingPathComponent("labels/train/\(name).txt")
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        try label("good", "0 0.5 0.5 0.25 0.25\n")
        try label("badclass", "3 0.5 0.5 0.25 0.25\n")
        try label("badline", "0 0.5 zero 0.25\n")
        try label("outside", "0 0.9 0.5 0.5 0.5\n")
        try Data("path: .\ntrain: images/train\nnames: [box]\n".utf8).write(to: yolo.appendingPathComponent("data.yaml"))
        let y = try DatasetFormat.yolo.read(yolo)
        XCTAssertEqual(y.dataset.images.map(\.file), ["images/train/good.png"])
        XCTAssertEqual(y.dataset.images[0].boxes, [LabeledBox(xmin: 6, ymin: 6, xmax: 10, ymax: 10, category: 0)])
        XCTAssertEqual(Set(y.problems.map(\.kind)), [.unknownCategory, .malformed, .boxOutOfBounds], "\(y.problems)")

        // VOC: malformed XML and a box outside.
        let voc = dir.appendingPathComponent("voc")
        try ImageCodec.write(ImageCodecTests.pattern(width: 30, height: 20, channels: 3), to: voc.appendingPathComponent("JPEGImages/a.jpg"))
        try ImageCodec.write(ImageCodecTests.pattern(width: 30, height: 20, channels: 3), to: voc.appendingPathComponent("JPEGImages/b.jpg"))
        try FileManager.default.createDirectory(at: voc.appendingPathComponent("Annotations"), withIntermediateDirectories: true)
        let good = "<annotation><filename>a.jpg</filename><size><width>30</width><height>20</height></size><object><name>person &amp; dog</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>10</xmax><ymax>12</ymax></bndbox></object></annotation>"
        try Data(good.utf8).write(to: voc.appendingPathComponent("Annotations/a.xml"))
        try Data("<annotation><filename>b.jpg</filename><object><name>x</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>40</xmax><ymax>12</ymax></bndbox></object></annotation>".utf8)
            .write(to: voc.appendingPathComponent("Annotations/b.xml"))
        try Data("<annotation><filename>c.jpg</filename><object></annotation>".utf8).write(to: voc.appendingPathComponent("Annotations/c.xml"))
        let v = try DatasetFormat.voc.read(voc)
        XCTAssertEqual(v.dataset.images.map(\.file), ["JPEGImages/a.jpg"])
        XCTAssertEqual(v.dataset.categoryName(v.dataset.images[0].boxes[0].category), "person & dog")
        XCTAssertEqual(Set(v.problems.map(\.kind)), [.malformed, .boxOutOfBounds], "\(v.problems)")

        // Image list: an unknown class name, a missing file, a duplicate path.
        let list = dir.appendingPathComponent("list")
        try ImageCodec.write(ImageCodecTests.pattern(width: 8, height: 8, channels: 1), to: list.appendingPathComponent("img/one two.png"))
        try Data("cat\ndog\n".utf8).write(to: list.appendingPathComponent("classes.txt"))
        try Data("img/one two.png dog\nimg/gone.png cat\nimg/one two.png cat\nimg/one two.png zebra\n".utf8)
            .write(to: list.appendingPathComponent("list.txt"))
        let l = try DatasetFormat.csv.read(list)
        XCTAssertEqual(l.dataset.images.map(\.label), [1])
        XCTAssertEqual(Set(l.problems.map(\.kind)), [.missingImage, .duplicateId], "\(l.problems)")
        // CSV with a header and class names.
        try Data("path,label\nimg/one two.png,zebra\n".utf8).write(to: list.appendingPathComponent("labels.csv"))
        let c = try DatasetFormat.csv.read(list.appendingPathComponent("labels.csv"))
        XCTAssertEqual(c.problems, [.init(.unknownCategory, item: "labels.csv:2 (img/one two.png)", field: "label",
                                         reason: "class `zebra` is not in classes.txt")])

        // Label Studio: one good task (upload URL, rotation 0), one missing image, one bad value.
        let ls = dir.appendingPathComponent("ls")
        try ImageCodec.write(ImageCodecTests.pattern(width: 200, height: 100, channels: 3), to: ls.appendingPathComponent("images/p.jpg"))
        let tasks: [[String: Any]] = [
            ["id": 7, "data": ["image": "/data/upload/3/p.jpg"], "annotations": [["result": [
                ["type": "rectanglelabels", "original_width": 200, "original_height": 100,
                 "value": ["x": 10, "y": 20, "width": 50, "height": 30, "rotation": 0, "rectanglelabels": ["Car"]]],
                ["type": "choices", "value": ["choices": ["Street"]]],
            ]]]],
            ["id": 8, "data": ["image": "/data/upload/3/nothere.jpg"], "annotations": []],
            ["id": 9, "data": ["image": "images/p.jpg"], "annotations": [["result": [
                ["type": "rectanglelabels", "value": ["x": 10, "rectanglelabels": ["Car"]]]]]]],
        ]
        try JSONSerialization.data(withJSONObject: tasks).write(to: ls.appendingPathComponent("export.json"))
        let s = try DatasetFormat.labelstudio.read(ls)
        XCTAssertEqual(s.dataset.images.count, 1)
        let task = s.dataset.images[0]
        XCTAssertEqual(task.boxes.count, 1)
        XCTAssertEqual(task.boxes[0].xmin, 20, accuracy: 1e-9)
        XCTAssertEqual(task.boxes[0].ymax, 50, accuracy: 1e-9)
        XCTAssertEqual(s.dataset.categoryName(task.label!), "Street")
        XCTAssertEqual(Set(s.problems.map(\.kind)), [.missingImage, .malformed], "\(s.problems)")
    }

    func testImageFolderReportsUnreadableImagesAndRefusesEmptyRoots() throws {
        let root = dir.appendingPathComponent("folder")
        try ImageCodec.write(ImageCodecTests.pattern(width: 8, height: 8, channels: 3), to: root.appendingPathComponent("ant/1.png"))
        try FileManager.default.createDirectory(at: root.appendingPathComponent("bee"), withIntermediateDirectories: true)
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0]).write(to: root.appendingPathComponent("bee/2.png"))
        let result = try DatasetFormat.imagefolder.read(root)
        XCTAssertEqual(result.dataset.categories.map(\.name), ["ant", "bee"])
        XCTAssertEqual(result.dataset.images.map(\.file), ["ant/1.png"])
        XCTAssertEqual(result.problems.map(\.kind), [.unreadableImage])
        XCTAssertTrue(result.problems[0].reason.contains("bee/2.png"), result.problems[0].reason)
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        XCTAssertThrowsError(try DatasetFormat.imagefolder.read(empty))
    }
}
