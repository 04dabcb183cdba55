import FleetProtos
import FleetStore
import Foundation
import VisionData

/// A version's counts, histograms, box statistics and identity digest.
enum VersionStatistics {
    static func make(items: [Visionfleet_V1_DatasetItem], categories: [DatasetCategory], task: Visionfleet_V1_TaskType)
        -> Visionfleet_V1_DatasetVersion {
        var v = Visionfleet_V1_DatasetVersion()
        v.imageCount = Int64(items.count)
        v.categories = categories.map { c in .with { $0.id = Int32(c.id); $0.name = c.name } }
        let names = Dictionary(categories.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        var stats = Visionfleet_V1_BoxStatistics()
        var sumW = 0.0, sumH = 0.0
        stats.minArea = .infinity
        for item in items {
            let split = switch item.split { case .val: "val"; case .test: "test"; default: "train" }
            v.splitCounts[split, default: 0] += 1
            if item.classID >= 0 {
                v.classCounts[names[Int(item.classID)] ?? "\(item.classID)", default: 0] += 1
                v.annotationCount += 1
            }
            for a in item.annotations {
                v.classCounts[names[Int(a.categoryID)] ?? "\(a.categoryID)", default: 0] += 1
                v.annotationCount += 1
                let w = Double(a.box.xMax - a.box.xMin), h = Double(a.box.yMax - a.box.yMin), area = w * h
                stats.count += 1
                sumW += w; sumH += h
                stats.minArea = min(stats.minArea, area)
                stats.maxArea = max(stats.maxArea, area)
                if area < 32 * 32 { stats.small += 1 } else if area < 96 * 96 { stats.medium += 1 } else { stats.large += 1 }
            }
        }
        if stats.count > 0 {
            stats.meanWidth = sumW / Double(stats.count)
            stats.meanHeight = sumH / Double(stats.count)
            stats.meanBoxesPerImage = Double(stats.count) / Double(max(items.count, 1))
        } else {
            stats.minArea = 0
        }
        if task == .detection { v.boxStats = stats }
        v.manifestDigest = digest(items: items, categories: categories)
        return v
    }

    /// The version's identity: its content, not its file names or ids. Categories by name,
    /// each item as (image digest, split, class name, boxes with class names), sorted — so an
    /// export in any format that keeps the labels re-imports to the same digest.
    static func digest(items: [Visionfleet_V1_DatasetItem], categories: [DatasetCategory]) -> String {
        let names = Dictionary(categories.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        @Sendable func name(_ id: Int32) -> String { names[Int(id)] ?? "#\(id)" }
        let hasher = SHA256Stream()
        for c in categories.map(\.name).sorted() { hasher.update(Data("category\t\(c)\n".utf8)) }
        @Sendable func line(_ item: Visionfleet_V1_DatasetItem) -> String {
            var line = item.blobDigest + "\t" + String(item.split.rawValue) + "\t" + (item.classID >= 0 ? name(item.classID) : "")
            let boxes = item.annotations.map { a in
                "\(name(a.categoryID)):\(a.box.xMin.bitPattern),\(a.box.yMin.bitPattern),\(a.box.xMax.bitPattern),\(a.box.yMax.bitPattern)"
            }
            for box in boxes.sorted() { line += "\t" + box }
            return line + "\n"
        }
        // Each half's lines built and sorted on its own core, then merged.
        let halves = ConcurrentSlots<[String]>(count: 2)
        DispatchQueue.concurrentPerform(iterations: items.count >= 2048 ? 2 : 1) { h in
            let range = h == 0 ? 0..<(items.count >= 2048 ? items.count / 2 : items.count) : (items.count / 2)..<items.count
            halves.set(h, range.map { line(items[$0]) }.sorted())
        }
        let a = halves.values[0] ?? [], b = halves.values[1] ?? []
        var i = 0, j = 0
        var text = ""
        text.reserveCapacity((a.first?.utf8.count ?? 80) * items.count)
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && a[i] <= b[j]) {
                text += a[i]
                i += 1
            } else {
                text += b[j]
                j += 1
            }
        }
        hasher.update(Data(text.utf8))
        return hasher.finish().description
    }
}
