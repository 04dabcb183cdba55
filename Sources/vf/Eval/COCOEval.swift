import ArgumentParser
import Foundation
import VisionEval

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate predictions against ground truth.",
                                                    subcommands: [COCOEval.self])
}

/// `vf eval coco --gt GT.json --dt DETECTIONS.json [--json]`: box AP/AR with pycocotools'
/// conventions, the twelve standard numbers.
struct COCOEval: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "coco", abstract: "COCO box AP/AR (pycocotools' COCOeval, bbox).")

    @Option(help: "COCO ground-truth annotation file.")
    var gt: String

    @Option(help: "COCO results file: a list of {image_id, category_id, bbox, score}.")
    var dt: String

    @Flag(help: "Print one JSON object (AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl).")
    var json = false

    @Flag(help: "Also print AP per category.")
    var perClass = false

    func run() throws {
        guard let gtData = FileManager.default.contents(atPath: gt) else { throw ValidationError("--gt \(gt): file not found") }
        guard let dtData = FileManager.default.contents(atPath: dt) else { throw ValidationError("--dt \(dt): file not found") }
        let truth = try COCOGroundTruth.parse(gtData, file: gt)
        let detections = try truth.parseDetections(dtData, file: dt)
        let stats = COCOEvaluator(groundTruth: truth).evaluate(detections)
        if json {
            var object: [String: Any] = Dictionary(uniqueKeysWithValues: zip(COCOEvaluator.Stats.keys, stats.all))
            if perClass {
                let names = Dictionary(truth.categories.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
                object["per_class_AP"] = Dictionary(stats.perCategoryAP.map { (names[$0.key] ?? "\($0.key)", $0.value) },
                                                    uniquingKeysWith: { a, _ in a })
            }
            try JSONLine.print(object)
            return
        }
        let rows: [(String, String, String, String)] = [
            ("Average Precision", "0.50:0.95", "all", "100"), ("Average Precision", "0.50", "all", "100"),
            ("Average Precision", "0.75", "all", "100"), ("Average Precision", "0.50:0.95", "small", "100"),
            ("Average Precision", "0.50:0.95", "medium", "100"), ("Average Precision", "0.50:0.95", "large", "100"),
            ("Average Recall", "0.50:0.95", "all", "1"), ("Average Recall", "0.50:0.95", "all", "10"),
            ("Average Recall", "0.50:0.95", "all", "100"), ("Average Recall", "0.50:0.95", "small", "100"),
            ("Average Recall", "0.50:0.95", "medium", "100"), ("Average Recall", "0.50:0.95", "large", "100"),
        ]
        for (row, value) in zip(rows, stats.all) {
            let kind = row.0.hasSuffix("Precision") ? "(AP)" : "(AR)"
            print(String(format: " %-18@ %@ @[ IoU=%-9@ | area=%6@ | maxDets=%3@ ] = %.3f", row.0, kind, row.1, row.2, row.3, value))
        }
        if perClass {
            for (id, name) in truth.categories { print(String(format: "  %-20@ AP %.3f", name, stats.perCategoryAP[id] ?? -1)) }
        }
    }
}
