import FleetProtos
import FleetStore
import Foundation
import VisionData

/// A version's counts, histograms, box statistics and identity digest.
enum VersionStatistics {
    static func make(items: [Visionfleet_V1_DatasetItem], categories: [DatasetCategory], task: Visionfleet_V1_TaskType,
                     blobDigests: [BlobDigest]? = nil) -> Visionfleet_V1_DatasetVersion {
        var v = Visionfleet_V1_DatasetVersion()
        v.imageCount = Int64(items.count)
        v.categories = categories.map { c in .with { $0.id = Int32(c.id); $0.name = c.name } }
        let names = Dictionary(categories.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        var stats = Visionfleet_V1_BoxStatistics()
        var sumW = 0.0, sumH = 0.0
        stats.minArea = .infinity
        // Tallied by split and class id, named once at the end (a map update per item hashes a string).
        var splits = [Int64](repeating: 0, count: 3)
        var classes: [Int32: Int64] = [:]
        // Fields read in place (a copy of each item costs a retain and release per field).
        for i in items.indices {
            let split = items[i].split, classID = items[i].classID
            splits[split == .val ? 1 : split == .test ? 2 : 0] += 1
            if classID >= 0 { classes[classID, default: 0] += 1 }
            guard !items[i].annotations.isEmpty else { continue }
            for a in items[i].annotations {
                classes[a.categoryID, default: 0] += 1
                let w = Double(a.box.xMax - a.box.xMin), h = Double(a.box.yMax - a.box.yMin), area = w * h
                stats.count += 1
                sumW += w; sumH += h
                stats.minArea = min(stats.minArea, area)
                stats.maxArea = max(stats.maxArea, area)
                if area < 32 * 32 { stats.small += 1 } else if area < 96 * 96 { stats.medium += 1 } else { stats.large += 1 }
            }
        }
        for (name, count) in zip(["train", "val", "test"], splits) where count > 0 { v.splitCounts[name] = count }
        for (id, count) in classes {
            v.classCounts[names[Int(id)] ?? "\(id)", default: 0] += count
            v.annotationCount += count
        }
        if stats.count > 0 {
            stats.meanWidth = sumW / Double(stats.count)
            stats.meanHeight = sumH / Double(stats.count)
            stats.meanBoxesPerImage = Double(stats.count) / Double(max(items.count, 1))
        } else {
            stats.minArea = 0
        }
        if task == .detection { v.boxStats = stats }
        v.manifestDigest = digest(items: items, categories: categories, blobDigests: blobDigests)
        return v
    }

    /// The version's identity: its content, not its file names or ids. Categories by name,
    /// each item as (image digest, split, class name, boxes with class names), sorted — so an
    /// export in any format that keeps the labels re-imports to the same digest.
    /// `blobDigests`: each item's digest when the caller holds them (else read from the text).
    static func digest(items: [Visionfleet_V1_DatasetItem], categories: [DatasetCategory], blobDigests: [BlobDigest]? = nil) -> String {
        precondition(blobDigests.map { $0.count == items.count } ?? true, "one digest per item")
        let names = Dictionary(categories.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        @Sendable func name(_ id: Int32) -> String { names[Int(id)] ?? "#\(id)" }
        let hasher = SHA256Stream()
        for c in categories.map(\.name).sorted() { hasher.update(Data("category\t\(c)\n".utf8)) }
        // Class names as bytes, once: most items are a digest, a split and a class name.
        var nameBytes: [Int32: [UInt8]] = [:]
        for c in categories {
            if let id = Int32(exactly: c.id), nameBytes[id] == nil { nameBytes[id] = Array(names[c.id]!.utf8) }
        }
        let classNames = nameBytes
        /// Appends an item's line: digest, split, class name, boxes sorted, tab-separated.
        /// (Fields read in place from `items[i]`: a copy of an item retains and releases each field.)
        @Sendable func appendLine(_ i: Int, to text: inout [UInt8]) {
            text += items[i].blobDigest.utf8
            text.append(UInt8(ascii: "\t"))
            appendDecimal(items[i].split.rawValue, to: &text)
            text.append(UInt8(ascii: "\t"))
            let classID = items[i].classID
            if classID >= 0 {
                if let bytes = classNames[classID] { text += bytes } else { text += name(classID).utf8 }
            }
            if !items[i].annotations.isEmpty {
                let boxes = items[i].annotations.map { a in
                    "\(name(a.categoryID)):\(a.box.xMin.bitPattern),\(a.box.yMin.bitPattern),\(a.box.xMax.bitPattern),\(a.box.yMax.bitPattern)"
                }
                for box in boxes.sorted() {
                    text.append(UInt8(ascii: "\t"))
                    text += box.utf8
                }
            }
            text.append(UInt8(ascii: "\n"))
        }
        @Sendable func line(_ i: Int) -> String {
            var line: [UInt8] = []
            appendLine(i, to: &line)
            return String(decoding: line, as: UTF8.self)
        }
        // The lines in sorted order. Every line starts with its image's digest (64 hex digits,
        // ordered as the digests are), so items are sorted by digest and only items of one
        // image compare whole lines — the same order as sorting the lines, without building
        // them first.
        let keys = blobDigests.map { $0.map(Optional.some) } ?? digestKeys(items)
        @Sendable func before(_ a: Int, _ b: Int) -> Bool {
            if let x = keys[a], let y = keys[b], x != y { return x < y }
            return line(a) < line(b)
        }
        var text: [UInt8] = []
        text.reserveCapacity(((items.first?.blobDigest.utf8.count ?? 64) + 16) * items.count)
        for next in TwoCoreSort.indices(items.count, by: before) { appendLine(next, to: &text) }
        hasher.update(text)
        return hasher.finish().description
    }

    /// `String(value)`'s bytes.
    private static func appendDecimal(_ value: Int, to text: inout [UInt8]) {
        guard value >= 0, value < 10 else {
            text += String(value).utf8
            return
        }
        text.append(48 + UInt8(value))
    }

    /// Each item's digest ("sha256:" and 64 lowercase hex digits) as four big-endian words,
    /// which order as the text does; nil for a digest in any other form (its lines are
    /// compared as text).
    private static func digestKeys(_ items: [Visionfleet_V1_DatasetItem]) -> [BlobDigest?] {
        let length = BlobDigest.prefix.utf8.count + 64
        return items.map { item in
            // Only the full "sha256:<hex>" form: its keys order as its text does.
            item.blobDigest.utf8.count == length ? try? BlobDigest(parsing: item.blobDigest) : nil
        }
    }
}
