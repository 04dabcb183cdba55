/// How a batch of n images runs on the batch sizes a model keeps compiled networks for (its
/// ladder): as the cheapest sequence of ladder-sized pieces by the run times measured at
/// warm-up, the last piece padded. A sparse ladder (1, 4, 16 for a large model) would otherwise
/// pad 8 images up to 16 and spend twice the compute; 4 + 4 costs about half. A batch whose size
/// has a network runs whole, and padding to the next size stays unless splitting is at least
/// `margin` cheaper, so timing noise does not cut batches into pieces.
struct BatchPieces: Sendable, Equatable {
    /// Ascending sizes with a compiled network; the last is the largest piece.
    let ladder: [Int]
    /// Seconds one run of each ladder size took (the best of the warm-up's timed runs).
    let seconds: [Int: Double]
    static let margin = 0.9
    /// The pieces for every n in 1...ladder.last (index n − 1).
    private let table: [[Int]]

    init(ladder: [Int], seconds: [Int: Double] = [:]) {
        precondition(!ladder.isEmpty && ladder == ladder.sorted() && ladder[0] >= 1, "a ladder is ascending sizes from 1 up")
        self.ladder = ladder
        self.seconds = seconds
        let top = ladder.last!
        func padded(_ n: Int) -> [Int] { [ladder.first { $0 >= n } ?? n] }
        guard ladder.allSatisfy({ (seconds[$0] ?? 0) > 0 }) else {
            table = (1...top).map(padded)
            return
        }
        // best[m]: the cheapest pieces covering m images (a piece may run past m: padding).
        var cost = [Double](repeating: .infinity, count: top + 1), last = [Int](repeating: 0, count: top + 1)
        cost[0] = 0
        for m in 1...top {
            for size in ladder {
                let c = seconds[size]! + cost[max(0, m - size)]
                if c < cost[m] { (cost[m], last[m]) = (c, size) }
            }
        }
        table = (1...top).map { n in
            let pad = padded(n)
            // A size with its own network runs whole: only padding is worth avoiding.
            guard pad[0] != n, cost[n] < Self.margin * seconds[pad[0]]! else { return pad }
            var pieces: [Int] = [], m = n
            while m > 0 { pieces.append(last[m]); m -= last[m] }
            return pieces.sorted(by: >)
        }
    }

    /// The piece sizes a batch of n runs as, largest first; n itself past the ladder's top (the
    /// plan runs such a batch in chunks).
    func pieces(_ n: Int) -> [Int] {
        guard n >= 1, n <= ladder.last! else { return [n] }
        return table[n - 1]
    }

    /// The batch sizes that run as several pieces, e.g. "8=4+4 12=4+4+4" ("none" when none do).
    var splitSummary: String {
        let split = (1...ladder.last!).filter { pieces($0).count > 1 }
        return split.isEmpty ? "none" : split.map { "\($0)=" + pieces($0).map(String.init).joined(separator: "+") }.joined(separator: " ")
    }

    /// The rows a batch of n fills, padding included.
    func rows(_ n: Int) -> Int { pieces(n).reduce(0, +) }
}
