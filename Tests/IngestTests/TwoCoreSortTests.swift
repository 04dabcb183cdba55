import FleetProtos
import FleetStore
import Foundation
@testable import IngestService
import VisionData
import XCTest

/// The two-core index sort against the standard library's stable sort, and the manifest
/// digest's digest-first order against sorting whole lines.
final class TwoCoreSortTests: XCTestCase {
    func testMatchesAStableSortAtEverySize() {
        var rng = SystemRandomNumberGenerator()
        for count in [0, 1, 2, 2047, 2048, 2049, 5001] {
            // Few distinct keys: many ties, so stability shows.
            let keys = (0..<count).map { _ in Int.random(in: 0..<37, using: &rng) }
            let sorted = TwoCoreSort.indices(count) { keys[$0] < keys[$1] }
            XCTAssertEqual(sorted, (0..<count).sorted { keys[$0] < keys[$1] }, "\(count) elements")
        }
    }

    func testManifestDigestIsTheDigestOfSortedLines() {
        // 3,000 items (two cores) over 1,000 images: each image three times with different
        // splits and classes, some with boxes, one digest in a foreign form and one class id
        // without a category.
        let categories = [DatasetCategory(id: 0, name: "cat"), DatasetCategory(id: 1, name: "dog")]
        var items: [Visionfleet_V1_DatasetItem] = []
        for i in 0..<3000 {
            items.append(.with {
                let image = (i * 7919) % 1000
                $0.blobDigest = i == 17 ? "not-a-digest" : "sha256:" + String(repeating: String(format: "%08x", image * 2654435761 % 4294967291), count: 8)
                $0.split = [.train, .val, .test][i % 3]
                $0.classID = i == 23 ? 7 : Int32(i % 5 == 0 ? -1 : i % 2)  // 7: no such category, named "#7"
                if i % 4 == 0 {
                    $0.annotations = [.with { a in a.categoryID = 1; a.box = .with { $0.xMin = 1; $0.yMin = 2; $0.xMax = Float(3 + i % 3); $0.yMax = 9 } }]
                }
            })
        }
        let names = ["cat", "dog"]
        let lines = items.map { item -> String in
            var line = item.blobDigest + "\t" + String(item.split.rawValue) + "\t" + (item.classID >= 0 ? item.classID < 2 ? names[Int(item.classID)] : "#\(item.classID)" : "")
            for a in item.annotations {
                line += "\t\(names[Int(a.categoryID)]):\(a.box.xMin.bitPattern),\(a.box.yMin.bitPattern),\(a.box.xMax.bitPattern),\(a.box.yMax.bitPattern)"
            }
            return line + "\n"
        }.sorted()
        let hasher = SHA256Stream()
        for c in ["cat", "dog"] { hasher.update(Data("category\t\(c)\n".utf8)) }
        hasher.update(Data(lines.joined().utf8))
        let expected = hasher.finish().description
        XCTAssertEqual(VersionStatistics.digest(items: items, categories: categories), expected)
        XCTAssertEqual(VersionStatistics.digest(items: items.reversed(), categories: categories), expected,
                       "the digest does not depend on the items' order")
    }
}
