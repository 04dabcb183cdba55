import Foundation

/// File names compared the way people number files: runs of digits by their value (`img2` <
/// `img10`, leading zeros only breaking ties), everything else byte by byte. Locale-free.
enum NaturalOrder {
    static func compare(_ a: String, _ b: String) -> ComparisonResult {
        var a = a, b = b
        return a.withUTF8 { x in b.withUTF8 { y in compare(x, y) } }
    }

    /// The order of `values` by their names (ties by `tieBreak`), each name's bytes read once.
    /// The names are packed into one buffer (a comparison then touches no array header or
    /// reference count: a sort of 70,000 names compares over a million times).
    static func sortedIndices(_ names: [String], tieBreak: @Sendable (Int, Int) -> Bool) -> [Int] {
        var starts = [Int](repeating: 0, count: names.count + 1)
        for (i, name) in names.enumerated() { starts[i + 1] = starts[i] + name.utf8.count }
        var packed = [UInt8]()
        packed.reserveCapacity(starts[names.count])
        for name in names { packed += name.utf8 }
        return packed.withUnsafeBufferPointer { all in
            starts.withUnsafeBufferPointer { starts in
                // Read-only, and valid until the synchronous sort returns.
                nonisolated(unsafe) let (all, starts) = (all, starts)
                return TwoCoreSort.indices(names.count) { i, j in
                    let x = UnsafeBufferPointer(rebasing: all[starts[i]..<starts[i + 1]])
                    let y = UnsafeBufferPointer(rebasing: all[starts[j]..<starts[j + 1]])
                    let order = compare(x, y)
                    return order == .orderedSame ? tieBreak(i, j) : order == .orderedAscending
                }
            }
        }
    }

    static func compare(_ x: UnsafeBufferPointer<UInt8>, _ y: UnsafeBufferPointer<UInt8>) -> ComparisonResult {
        var i = 0, j = 0
        var zerosTie = ComparisonResult.orderedSame
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        while i < x.count, j < y.count {
            if isDigit(x[i]), isDigit(y[j]) {
                let si = i, sj = j
                while i < x.count, isDigit(x[i]) { i += 1 }
                while j < y.count, isDigit(y[j]) { j += 1 }
                var di = si, dj = sj
                while di < i - 1, x[di] == 48 { di += 1 }
                while dj < j - 1, y[dj] == 48 { dj += 1 }
                let lengthX = i - di, lengthY = j - dj
                if lengthX != lengthY { return lengthX < lengthY ? .orderedAscending : .orderedDescending }
                for k in 0..<lengthX where x[di + k] != y[dj + k] { return x[di + k] < y[dj + k] ? .orderedAscending : .orderedDescending }
                if zerosTie == .orderedSame, i - si != j - sj { zerosTie = i - si < j - sj ? .orderedAscending : .orderedDescending }
            } else {
                if x[i] != y[j] { return x[i] < y[j] ? .orderedAscending : .orderedDescending }
                i += 1
                j += 1
            }
        }
        if i < x.count { return .orderedDescending }
        if j < y.count { return .orderedAscending }
        return zerosTie
    }
}
