import FleetProtos
import Foundation

/// The split of each item: the format's own train/val/test when it has a validation or test
/// part; otherwise a
/// hold-out of `fraction` chosen from (seed, image digest), by class for classification (within
/// each class the images with the smallest keys are held out), so the same content always
/// splits the same way.
enum SplitAssigner {
    static func assign(digests: [String], formatSplits: [String?], classes: [Int?], fraction: Double, seed: UInt64) -> [Visionfleet_V1_Split] {
        if formatSplits.contains(where: { $0 != nil && $0 != "train" }) {
            return formatSplits.map { split in
                switch split {
                case "val", "valid", "validation": .val
                case "test": .test
                default: .train
                }
            }
        }
        var out = [Visionfleet_V1_Split](repeating: .train, count: digests.count)
        guard fraction > 0 else { return out }
        var groups: [Int: [Int]] = [:]
        for i in digests.indices { groups[classes[i] ?? -1, default: []].append(i) }
        // Each key hashed once, not at every comparison of the sort.
        let keys = digests.indices.map { key(seed, digests[$0], $0) }
        for members in groups.values {
            let ranked = members.sorted { keys[$0] < keys[$1] }
            let held = Int((Double(ranked.count) * fraction).rounded())
            for i in ranked.prefix(held) { out[i] = .val }
        }
        return out
    }

    /// FNV-1a of "seed:digest", ties (identical images) broken by position.
    static func key(_ seed: UInt64, _ digest: String, _ index: Int) -> (UInt64, Int) {
        var h: UInt64 = 0xcbf29ce484222325
        for b in "\(seed):\(digest)".utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return (h, index)
    }
}
