import Tensors

/// `--profile`'s training table: per op kind, forward and backward ms per step, largest first,
/// and the blocked ↔ plain layout conversions per step.
enum TrainingProfileTable {
    /// Runs `steps` more training steps with `graph.profile` on and prints where their time went.
    static func run(_ graph: Graph, steps: Int, startForward: (TrainingProfile) -> Void = { $0.startForward() },
                    step: () throws -> Void) rethrows {
        let profile = TrainingProfile()
        graph.profile = profile
        defer { graph.profile = nil }
        for _ in 0..<steps {
            startForward(profile)
            try step()
        }
        let total = profile.entries.values.reduce(0) { $0 + $1.seconds }
        print("profile: training, per op kind (\(steps) steps; forward = time since the previous op's output)")
        for label in profile.order.sorted(by: { profile.entries[$0]!.seconds > profile.entries[$1]!.seconds }) {
            let e = profile.entries[label]!
            print("  " + label.padding(toLength: 62, withPad: " ", startingAt: 0)
                  + String(format: "%8.2f ms/step %5.1f%%  %5d calls/step", e.seconds * 1000 / Double(steps), 100 * e.seconds / total,
                           e.calls / steps))
        }
        print(String(format: "  layout conversions (blocked ↔ plain, block %d): %.1f per step", BlockedLayout.block,
                     Double(profile.conversions) / Double(steps)))
    }
}
