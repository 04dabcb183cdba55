import Foundation

/// Where a training step's time goes, per op kind: forward (the time from the previous op's
/// output to this one's) and backward (each recorded step), and the layout conversions
/// (`BlockedLayout`) between blocked and plain values. Set `Graph.profile` to collect.
public final class TrainingProfile: @unchecked Sendable {
    public struct Entry: Sendable {
        public var seconds: Double
        public var calls: Int
    }

    public private(set) var entries: [String: Entry] = [:]
    /// Labels in first-seen order.
    public private(set) var order: [String] = []
    private var mark = DispatchTime.now().uptimeNanoseconds
    private let conversionsAtStart = BlockedLayout.conversions

    public init() {}

    /// Layout conversions (blocked ↔ plain) since this profile started.
    public var conversions: Int { BlockedLayout.conversions - conversionsAtStart }

    /// Starts timing a forward pass: the first op's time counts from here.
    public func startForward() { mark = DispatchTime.now().uptimeNanoseconds }

    func forwardOp(_ op: String) {
        let now = DispatchTime.now().uptimeNanoseconds
        add(Self.name(op) + " forward", Double(now - mark) / 1e9)
        mark = now
    }

    func timed(_ op: String, _ step: @escaping () -> Void) -> () -> Void {
        let label = Self.name(op) + " backward"
        return { [unowned self] in
            let start = DispatchTime.now().uptimeNanoseconds
            step()
            self.add(label, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
    }

    private func add(_ label: String, _ seconds: Double) {
        if entries[label] == nil { order.append(label) }
        entries[label, default: Entry(seconds: 0, calls: 0)].seconds += seconds
        entries[label, default: Entry(seconds: 0, calls: 0)].calls += 1
    }

    /// "conv2d(_:weight:…)" → "conv2d".
    private static func name(_ function: String) -> String { String(function.prefix { $0 != "(" }) }
}
