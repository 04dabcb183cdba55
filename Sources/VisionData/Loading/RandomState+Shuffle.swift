import Tensors

extension RandomState {
    /// The generator behind a loader's sample order in `epoch`.
    static func loaderEpoch(_ epoch: Int, seed: UInt64) -> RandomState {
        RandomState(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
    }

    /// Fisher–Yates shuffle in place.
    mutating func shuffle(_ a: inout [Int]) {
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, nextInt(i + 1)) }
    }
}
