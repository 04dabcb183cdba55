import Foundation
import TestSupport
import XCTest
@testable import Tensors
@testable import VisionEval

/// Our COCO evaluator against pycocotools' COCOeval on the same files.
final class COCOEvaluatorTests: XCTestCase {
    struct Fixture {
        var name: String
        var truth: COCOGroundTruth
        var detections: [COCODetection]
    }

    static func fixtures() -> [Fixture] {
        var rng = RandomState(seed: 11)
        func u(_ lo: Double, _ hi: Double) -> Double { lo + Double(rng.nextFloat()) * (hi - lo) }
        let imageIds = [3, 7, 11, 12, 20, 31]
        let categories: [(id: Int, name: String)] = [(1, "circle"), (2, "square"), (3, "star"), (5, "unseen")]
        var annotations: [COCOGroundTruth.Annotation] = []
        var nextId = 1
        for image in imageIds {
            for _ in 0..<(2 + rng.nextInt(6)) {
                // Sizes spanning small, medium and large.
                let w = exp(u(log(4), log(300))), h = w * u(0.5, 2)
                let cat = [1, 2, 3][rng.nextInt(3)]
                let crowd = rng.nextInt(12) == 0
                annotations.append(.init(id: nextId, imageId: image, categoryId: cat, bbox: [u(0, 400), u(0, 300), w, h],
                                         area: w * h * u(0.7, 1), isCrowd: crowd))
                nextId += 1
            }
        }
        let truth = COCOGroundTruth(imageIds: imageIds, categories: categories, annotations: annotations)
        let real = annotations.filter { !$0.isCrowd }
        var fixtures: [Fixture] = []
        fixtures.append(Fixture(name: "perfect", truth: truth,
                                detections: real.map { .init(imageId: $0.imageId, categoryId: $0.categoryId, bbox: $0.bbox, score: 1) }))
        fixtures.append(Fixture(name: "shifted", truth: truth, detections: real.map { a in
            let s = u(0, 0.5)
            return .init(imageId: a.imageId, categoryId: a.categoryId,
                         bbox: [a.bbox[0] + s * a.bbox[2], a.bbox[1] - s * a.bbox[3] / 2, a.bbox[2] * u(0.8, 1.2), a.bbox[3]], score: u(0, 1))
        }))
        // False positives, a class never detected (3), detections of a class without ground
        // truth (5), crowd regions hit, and tied scores.
        var mixed: [COCODetection] = []
        for a in annotations where a.categoryId != 3 {
            mixed.append(.init(imageId: a.imageId, categoryId: a.categoryId,
                               bbox: [a.bbox[0] + u(-3, 3), a.bbox[1] + u(-3, 3), a.bbox[2], a.bbox[3]], score: [0.5, 0.9][rng.nextInt(2)]))
        }
        for image in imageIds {
            for _ in 0..<4 {
                mixed.append(.init(imageId: image, categoryId: [1, 2, 5][rng.nextInt(3)], bbox: [u(0, 500), u(0, 400), u(5, 150), u(5, 150)],
                                   score: u(0, 1)))
            }
        }
        fixtures.append(Fixture(name: "mixed", truth: truth, detections: mixed))
        // Many detections: more than 100 per image and category, so the caps bite.
        var many: [COCODetection] = []
        for image in imageIds {
            for i in 0..<260 {
                let near = annotations.filter { $0.imageId == image }
                let a = near[i % near.count]
                many.append(.init(imageId: image, categoryId: i % 2 == 0 ? a.categoryId : 1 + rng.nextInt(3),
                                  bbox: [a.bbox[0] + u(-10, 10), a.bbox[1] + u(-10, 10), a.bbox[2] * u(0.7, 1.3), a.bbox[3] * u(0.7, 1.3)],
                                  score: u(0, 1)))
            }
        }
        fixtures.append(Fixture(name: "many", truth: truth, detections: many))
        fixtures.append(Fixture(name: "none", truth: truth, detections: [
            .init(imageId: 3, categoryId: 1, bbox: [600, 400, 10, 10], score: 0.3)]))
        return fixtures
    }

    func write(_ f: Fixture, to dir: URL) throws -> (URL, URL) {
        let gt: [String: Any] = [
            "images": f.truth.imageIds.map { ["id": $0, "width": 640, "height": 480, "file_name": "\($0).png"] },
            "categories": f.truth.categories.map { ["id": $0.id, "name": $0.name] },
            "annotations": f.truth.annotations.map {
                ["id": $0.id, "image_id": $0.imageId, "category_id": $0.categoryId, "bbox": $0.bbox, "area": $0.area,
                 "iscrowd": $0.isCrowd ? 1 : 0] as [String: Any]
            },
        ]
        let dt = f.detections.map { ["image_id": $0.imageId, "category_id": $0.categoryId, "bbox": $0.bbox, "score": $0.score] as [String: Any] }
        let gtURL = dir.appendingPathComponent("\(f.name)-gt.json"), dtURL = dir.appendingPathComponent("\(f.name)-dt.json")
        try JSONSerialization.data(withJSONObject: gt).write(to: gtURL)
        try JSONSerialization.data(withJSONObject: dt).write(to: dtURL)
        return (gtURL, dtURL)
    }

    func testAgreesWithPycocotoolsOnEveryNumber() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vf-coco-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for fixture in Self.fixtures() {
            let (gtURL, dtURL) = try write(fixture, to: dir)
            // Through the same JSON files both sides read.
            let truth = try COCOGroundTruth.parse(Data(contentsOf: gtURL), file: gtURL.path)
            let ours = COCOEvaluator(groundTruth: truth).evaluate(try truth.parseDetections(Data(contentsOf: dtURL), file: dtURL.path))
            let run = try runPython([Repo.path("Tests/VisionTests/Python/coco_eval.py"), gtURL.path, dtURL.path])
            XCTAssertEqual(run.status, 0, run.stderr)
            guard let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any],
                  let stats = object["stats"] as? [Double], let perClass = object["per_class"] as? [String: Double] else {
                return XCTFail("unreadable pycocotools output: \(run.stdout) \(run.stderr)")
            }
            for (key, (a, b)) in zip(COCOEvaluator.Stats.keys, zip(ours.all, stats)) {
                XCTAssertEqual(a, b, accuracy: 1e-9, "\(fixture.name) \(key)")
            }
            for (cat, ap) in perClass { XCTAssertEqual(ours.perCategoryAP[Int(cat)!] ?? -2, ap, accuracy: 1e-9, "\(fixture.name) AP[\(cat)]") }
            switch fixture.name {
            case "perfect": XCTAssertEqual(ours.ap, 1, accuracy: 1e-12)
            case "none": XCTAssertEqual(ours.ap, 0)
            default:  // the non-trivial fixtures exercise the partial-credit paths
                XCTAssertTrue(ours.ap > 0.01 && ours.ap < 0.99, "\(fixture.name) AP \(ours.ap)")
                XCTAssertTrue(ours.all.contains { $0 > 0 && $0 < 1 })
            }
            XCTAssertEqual(ours.perCategoryAP[5], -1, "a category without ground truth is left out")
        }
    }

    func testBadFilesNameTheItem() throws {
        let truth = try COCOGroundTruth.parse(Data(#"{"images": [{"id": 1}], "categories": [{"id": 1, "name": "a"}], "annotations": []}"#.utf8), file: "gt.json")
        XCTAssertThrowsError(try truth.parseDetections(Data(#"[{"image_id": 9, "category_id": 1, "bbox": [0,0,1,1], "score": 1}]"#.utf8), file: "dt.json")) {
            XCTAssertEqual("\($0)", "dt.json: [0].image_id: 9 is not an image of the ground truth")
        }
        XCTAssertThrowsError(try truth.parseDetections(Data(#"[{"image_id": 1, "category_id": 1, "bbox": [0,0,1], "score": 1}]"#.utf8), file: "dt.json")) {
            XCTAssertEqual("\($0)", "dt.json: [0].bbox: expected [x, y, width, height]")
        }
        XCTAssertThrowsError(try COCOGroundTruth.parse(Data("[]".utf8), file: "gt.json"))
    }
}
