import FleetStore
import Foundation

/// Sorts the indices `0..<count` by a comparator on two cores: each half sorted on its own,
/// then merged (stable: equal elements keep their index order). Below 2,048 elements, one core.
enum TwoCoreSort {
    static func indices(_ count: Int, by before: @Sendable (Int, Int) -> Bool) -> [Int] {
        guard count >= 2048 else { return (0..<count).sorted(by: before) }
        let middle = count / 2
        let (a, b) = withoutActuallyEscaping(before) { before in
            ForkJoin.both({ Array(0..<middle).sorted(by: before) }, { Array(middle..<count).sorted(by: before) })
        }
        var merged: [Int] = []
        merged.reserveCapacity(count)
        var i = 0, j = 0
        while i < a.count, j < b.count {
            if before(b[j], a[i]) {
                merged.append(b[j])
                j += 1
            } else {
                merged.append(a[i])
                i += 1
            }
        }
        merged += a[i...]
        merged += b[j...]
        return merged
    }
}
